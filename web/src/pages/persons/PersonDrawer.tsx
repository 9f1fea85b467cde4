import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Descriptions, Divider, Drawer, Empty, Form, Grid, Input, List, Popconfirm, Radio, Select, Space, Tag, Typography } from 'antd';
import { api } from '../../api/client';
import { fillPath, useRoute } from '../../api/routes';
import { isAdmin, useUser } from '../../auth/session';
import { CodeHistory } from '../../components/CodeHistory';
import { ErrorAlert, Loading } from '../../components/common';
import { formatDateTime, roleLabel } from '../../format';
import { FaceEnrolment } from './FaceEnrolment';

/** GET /api/schools/:code/persons item. */
export interface Person {
  id: string;
  kind: 'student' | 'staff';
  name: string;
  gender: string | null;
  className: string | null;
  studentNumber: string | null;
  staffNumber: string | null;
  staffRole: string | null;
  idNumberMasked: string | null;
  phoneMasked: string | null;
  hasDingtalk: boolean;
  healthCodeConsent: boolean;
  guardians: Array<{ name: string; relation: string | null; phoneMasked: string | null; hasDingtalk: boolean }>;
}

type Purpose = 'health_code' | 'face';

/** A console account as a consent record names it. */
interface ConsentActor {
  userId: string;
  username: string;
  displayName: string;
}

/** GET /api/schools/:code/persons/:id/consents reply. */
interface ConsentsReply {
  items: Array<{
    id: string;
    purpose: Purpose;
    givenBy: 'self' | 'guardian';
    guardianId: string | null;
    guardianName: string | null;
    givenAt: number;
    revokedAt: number | null;
    note: string | null;
    /** Null for records from before accounts were stored, and for command-line imports. */
    recordedBy: ConsentActor | null;
    revokedBy: ConsentActor | null;
  }>;
  guardians: Array<{ id: string; name: string; relation: string | null }>;
  faceDescriptors: number;
}

const PURPOSES: Record<Purpose, string> = { health_code: '健康码查询', face: '人脸识别' };

/** 王校长（principal）, or — when the record names no account. */
function actorLabel(actor: ConsentActor | null): string {
  if (!actor) return '—';
  return actor.displayName && actor.displayName !== actor.username ? `${actor.displayName}（${actor.username}）` : actor.username;
}

interface GrantForm {
  purpose: Purpose;
  givenBy: 'self' | 'guardian';
  guardianId?: string;
  note?: string;
}

/** List the consent records of a person. Admins also record a new consent or revoke one. */
function Consents({ schoolCode, person, data }: { schoolCode: string; person: Person; data: ConsentsReply }) {
  const user = useUser();
  const client = useQueryClient();
  const { message } = App.useApp();
  const grantRoute = useRoute('POST /api/schools/:code/persons/:id/consents');
  const revokeRoute = useRoute('DELETE /api/schools/:code/persons/:id/consents');
  const [form] = Form.useForm<GrantForm>();
  const [formOpen, setFormOpen] = useState(false);
  const givenBy = Form.useWatch('givenBy', form);
  const canChange = isAdmin(user) && grantRoute.path !== undefined && revokeRoute.path !== undefined;
  const refresh = () => {
    client.invalidateQueries({ queryKey: ['consents', schoolCode, person.id] });
    client.invalidateQueries({ queryKey: ['persons', schoolCode] });
  };

  const grant = useMutation({
    mutationFn: (values: GrantForm) => api(fillPath(grantRoute.path!, { code: schoolCode, id: person.id }), { method: 'POST', body: values }),
    onSuccess: () => {
      message.success('授权已登记');
      form.resetFields();
      setFormOpen(false);
      refresh();
    },
    onError: (error) => message.error(error.message),
  });
  const revoke = useMutation({
    mutationFn: (purpose: Purpose) =>
      api<{ revoked: number; faceDescriptorsDeleted: number }>(`${fillPath(revokeRoute.path!, { code: schoolCode, id: person.id })}?purpose=${purpose}`, { method: 'DELETE' }),
    onSuccess: (reply) => {
      message.success(reply.faceDescriptorsDeleted > 0 ? `授权已撤回，已删除 ${reply.faceDescriptorsDeleted} 张人脸照片` : '授权已撤回');
      refresh();
    },
    onError: (error) => message.error(error.message),
  });

  const activePurposes = new Set(data.items.filter((c) => c.revokedAt === null).map((c) => c.purpose));
  const grantable = (Object.keys(PURPOSES) as Purpose[]).filter((p) => !activePurposes.has(p));
  return (
    <div data-testid="consents">
      <Space wrap style={{ marginBottom: 8 }}>
        {(Object.keys(PURPOSES) as Purpose[]).map((purpose) => (
          <Tag key={purpose} color={activePurposes.has(purpose) ? 'success' : 'default'}>
            {PURPOSES[purpose]}：{activePurposes.has(purpose) ? '已授权' : '未授权'}
          </Tag>
        ))}
      </Space>
      {data.items.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="暂无授权记录" />
      ) : (
        <List
          size="small"
          dataSource={data.items}
          renderItem={(consent) => {
            const giver = consent.givenBy === 'self' ? '本人' : `监护人 ${consent.guardianName ?? '（已删除）'}`;
            return (
              <List.Item
                data-testid="consent-item"
                actions={
                  canChange && consent.revokedAt === null
                    ? [
                        <Popconfirm
                          key="revoke"
                          title={`撤回${PURPOSES[consent.purpose]}授权？`}
                          description={consent.purpose === 'face' ? '撤回后将同时删除已录入的人脸照片，闸机不再刷脸识别此人。' : '撤回后不再为此人查询健康码。'}
                          okText="撤回"
                          cancelText="取消"
                          onConfirm={() => revoke.mutate(consent.purpose)}
                        >
                          <Button size="small" danger loading={revoke.isPending}>
                            撤回
                          </Button>
                        </Popconfirm>,
                      ]
                    : []
                }
              >
                <div>
                  <Space size={4} wrap>
                    <Typography.Text strong>{PURPOSES[consent.purpose]}</Typography.Text>
                    {consent.revokedAt === null ? <Tag color="success">有效</Tag> : <Tag>已撤回</Tag>}
                  </Space>
                  <div style={{ fontSize: 13 }}>
                    {giver}于 {formatDateTime(consent.givenAt)} 授权
                  </div>
                  <div style={{ fontSize: 13 }} data-testid="consent-recorded-by">
                    登记人：{actorLabel(consent.recordedBy)}
                  </div>
                  {consent.revokedAt !== null && (
                    <div style={{ fontSize: 13 }} data-testid="consent-revoked">
                      {formatDateTime(consent.revokedAt)} 撤回，操作人：{actorLabel(consent.revokedBy)}
                    </div>
                  )}
                  {consent.note && <Typography.Text type="secondary">备注：{consent.note}</Typography.Text>}
                </div>
              </List.Item>
            );
          }}
        />
      )}
      {canChange && grantable.length > 0 && !formOpen && (
        <Button
          style={{ marginTop: 8 }}
          onClick={() => {
            form.setFieldsValue({ purpose: grantable[0], givenBy: person.kind === 'student' && data.guardians.length > 0 ? 'guardian' : 'self', guardianId: data.guardians[0]?.id });
            setFormOpen(true);
          }}
        >
          登记授权
        </Button>
      )}
      {canChange && formOpen && (
        <Form<GrantForm> form={form} layout="vertical" style={{ marginTop: 8 }} onFinish={(values) => grant.mutate(values)} data-testid="consent-form">
          <Form.Item name="purpose" label="授权用途" rules={[{ required: true, message: '请选择授权用途' }]}>
            <Radio.Group options={grantable.map((p) => ({ label: PURPOSES[p], value: p }))} />
          </Form.Item>
          <Form.Item name="givenBy" label="授权人" rules={[{ required: true, message: '请选择授权人' }]}>
            <Radio.Group
              options={[
                { label: '本人', value: 'self' },
                { label: '监护人', value: 'guardian', disabled: data.guardians.length === 0 },
              ]}
            />
          </Form.Item>
          {givenBy === 'guardian' && (
            <Form.Item name="guardianId" label="监护人" rules={[{ required: true, message: '请选择是哪位监护人' }]}>
              <Select aria-label="监护人" options={data.guardians.map((g) => ({ label: `${g.name}${g.relation ? `（${g.relation}）` : ''}`, value: g.id }))} />
            </Form.Item>
          )}
          <Form.Item name="note" label="备注" rules={[{ max: 200, message: '备注最多 200 字' }]}>
            <Input placeholder="如：纸质授权书已存档于德育处" />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" loading={grant.isPending}>
              保存授权
            </Button>
            <Button onClick={() => setFormOpen(false)}>取消</Button>
          </Space>
        </Form>
      )}
    </div>
  );
}

/** Details of one person: masked personal data, guardians, consents, face enrolment and code history. */
export function PersonDrawer({ schoolCode, person, onClose }: { schoolCode: string; person: Person | null; onClose: () => void }) {
  const screens = Grid.useBreakpoint();
  const user = useUser();
  const consentsRoute = useRoute('GET /api/schools/:code/persons/:id/consents');
  const consents = useQuery({
    queryKey: ['consents', schoolCode, person?.id],
    queryFn: () => api<ConsentsReply>(fillPath(consentsRoute.path!, { code: schoolCode, id: person!.id })),
    enabled: consentsRoute.path !== undefined && person !== null,
  });

  const faceConsent = consents.data?.items.some((c) => c.purpose === 'face' && c.revokedAt === null) ?? false;
  return (
    <Drawer open={person !== null} onClose={onClose} title={person?.name} size={screens.sm ? 560 : '100%'} destroyOnHidden data-testid="person-drawer">
      {person && (
        <>
          <Descriptions size="small" column={1} bordered>
            <Descriptions.Item label="类别">{person.kind === 'student' ? '学生' : '教职工'}</Descriptions.Item>
            {person.kind === 'student' ? (
              <Descriptions.Item label="班级">{person.className ?? '—'}</Descriptions.Item>
            ) : (
              <Descriptions.Item label="岗位">{person.staffRole ? roleLabel(person.staffRole) : '—'}</Descriptions.Item>
            )}
            <Descriptions.Item label={person.kind === 'student' ? '学号' : '工号'}>{(person.kind === 'student' ? person.studentNumber : person.staffNumber) ?? '—'}</Descriptions.Item>
            <Descriptions.Item label="性别">{person.gender ?? '—'}</Descriptions.Item>
            <Descriptions.Item label="身份证号">{person.idNumberMasked ?? '—'}</Descriptions.Item>
            {person.kind === 'staff' && <Descriptions.Item label="电话">{person.phoneMasked ?? '—'}</Descriptions.Item>}
            <Descriptions.Item label="钉钉">{person.hasDingtalk ? '已关联' : '未关联'}</Descriptions.Item>
          </Descriptions>

          {person.kind === 'student' && (
            <>
              <Divider titlePlacement="start">监护人</Divider>
              {person.guardians.length === 0 ? (
                <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="未登记监护人" />
              ) : (
                <List
                  size="small"
                  data-testid="guardians"
                  dataSource={person.guardians}
                  renderItem={(g) => (
                    <List.Item>
                      {g.name}
                      {g.relation ? `（${g.relation}）` : ''} {g.phoneMasked ?? '无电话'} {g.hasDingtalk ? <Tag>已关联钉钉</Tag> : null}
                    </List.Item>
                  )}
                />
              )}
            </>
          )}

          <Divider titlePlacement="start">授权记录</Divider>
          {consentsRoute.path === undefined && !consentsRoute.isLoading && <Typography.Text type="secondary">服务器未开放授权记录</Typography.Text>}
          {consents.isLoading && <Loading />}
          {consents.error && <ErrorAlert error={consents.error} />}
          {consents.data && <Consents schoolCode={schoolCode} person={person} data={consents.data} />}

          {isAdmin(user) && consents.data && (
            <>
              <Divider titlePlacement="start">人脸录入</Divider>
              {faceConsent ? (
                <FaceEnrolment schoolCode={schoolCode} personId={person.id} faceDescriptors={consents.data.faceDescriptors} />
              ) : (
                <Alert
                  type="info"
                  showIcon
                  data-testid="face-needs-consent"
                  title="尚未登记人脸识别授权，不能录入人脸"
                  description="按照个人信息保护要求，须先取得本人（学生由监护人）同意。请在上方“登记授权”中登记人脸识别授权后再录入。"
                />
              )}
            </>
          )}

          <Divider titlePlacement="start">健康码记录</Divider>
          <CodeHistory personId={person.id} />
        </>
      )}
    </Drawer>
  );
}
