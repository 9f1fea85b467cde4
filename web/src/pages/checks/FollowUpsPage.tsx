import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, DatePicker, Descriptions, Empty, Flex, Form, Input, Modal, Segmented, Select, Space, Switch, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { api } from '../../api/client';
import { useUser } from '../../auth/session';
import { ErrorAlert, Loading, PageTitle } from '../../components/common';
import { NeedSchool } from '../../components/NeedSchool';
import { useSchool } from '../../layout/school';
import { shanghaiDateTime, shanghaiToday, type CheckOptions, type FollowUp, type SymptomOption } from './shared';
import './checks.css';

const DOCTOR_VISIT: Record<string, string> = { null: '未知', true: '已就诊', false: '未就诊' };

type Dialog = { kind: 'contact' | 'update' | 'certificate'; followUp: FollowUp } | null;

/**
 * Open illness-absence follow-ups of a school: guardian contacts, diagnosis and expected
 * return, and the return-to-school certificate that the school doctor records to let the
 * pupil through the gate again.
 */
export function FollowUpsPage() {
  const { school } = useSchool();
  if (!school) return <NeedSchool title="缺勤追踪" />;
  return <FollowUpsOfSchool schoolCode={school.code} />;
}

function FollowUpsOfSchool({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const mayCertify = user.role === 'school_doctor' || user.role === 'school_admin';
  const [dialog, setDialog] = useState<Dialog>(null);
  const base = `/api/schools/${encodeURIComponent(schoolCode)}`;
  const [status, setStatus] = useState<FollowUp['status']>('open');
  const followUps = useQuery({ queryKey: ['follow-ups', schoolCode, status], queryFn: async () => (await api<{ followUps: FollowUp[] }>(`${base}/follow-ups?status=${status}`)).followUps });
  const options = useQuery({ queryKey: ['check-options'], queryFn: () => api<CheckOptions>('/api/check-options'), staleTime: Infinity });
  const settings = useQuery({ queryKey: ['check-settings', schoolCode], queryFn: () => api<{ symptoms: SymptomOption[] }>(`${base}/check-settings`) });

  const symptomLabel = new Map((settings.data?.symptoms ?? []).map((s) => [s.code, s.label]));
  const diagnosisName = new Map((options.data?.diagnoses ?? []).map((d) => [d.code, d.name]));
  const resultLabel = new Map((options.data?.contactResults ?? []).map((r) => [r.code, r.label]));
  const list = followUps.data ?? [];

  return (
    <div data-testid="follow-ups-page">
      <PageTitle
        title="缺勤追踪"
        extra={
          <Segmented<FollowUp['status']>
            value={status}
            onChange={setStatus}
            options={[
              { value: 'open', label: status === 'open' && followUps.data ? `未结案 ${list.length} 人` : '未结案' },
              { value: 'closed', label: '已销假' },
              { value: 'cancelled', label: '已撤销' },
            ]}
          />
        }
      />
      {followUps.error && <ErrorAlert error={followUps.error} />}
      {followUps.isLoading ? (
        <Loading />
      ) : list.length === 0 ? (
        <Card>
          <Empty description={status === 'open' ? '没有未结案的因病缺勤' : status === 'closed' ? '没有已销假的记录' : '没有已撤销的记录'} />
        </Card>
      ) : (
        <Flex vertical gap={12}>
          {list.map((f) => (
            <Card
              key={f.id}
              size="small"
              data-testid={`follow-up-${f.name}`}
              title={
                <Space wrap size={6}>
                  <span>{f.name}</span>
                  <Typography.Text type="secondary">{f.className}</Typography.Text>
                  {f.status === 'open' ? <Tag color="volcano">缺勤第 {f.daysSinceStart + 1} 天</Tag> : <Tag>{f.status === 'closed' ? '已销假' : '已撤销'}</Tag>}
                </Space>
              }
              extra={
                f.status === 'open' && (
                  <Space wrap size={4}>
                    <Button size="small" onClick={() => setDialog({ kind: 'contact', followUp: f })}>
                      联系家长
                    </Button>
                    <Button size="small" onClick={() => setDialog({ kind: 'update', followUp: f })}>
                      诊断与返校
                    </Button>
                    {mayCertify && (
                      <Button size="small" type="primary" onClick={() => setDialog({ kind: 'certificate', followUp: f })}>
                        登记复课证明
                      </Button>
                    )}
                  </Space>
                )
              }
            >
              <Descriptions size="small" column={{ xs: 1, sm: 2, lg: 4 }}>
                <Descriptions.Item label="缺勤开始">{f.absenceBeganOn}</Descriptions.Item>
                <Descriptions.Item label="症状">{f.symptoms.length ? f.symptoms.map((s) => symptomLabel.get(s) ?? s).join('、') : '未登记'}</Descriptions.Item>
                <Descriptions.Item label="就诊">{DOCTOR_VISIT[String(f.sawDoctor)]}</Descriptions.Item>
                <Descriptions.Item label="诊断">{f.diagnosis ? (diagnosisName.get(f.diagnosis) ?? f.diagnosis) : '未明确'}{f.diagnosisNote ? `（${f.diagnosisNote}）` : ''}</Descriptions.Item>
                <Descriptions.Item label="预计返校">{f.expectedReturnOn ?? '未定'}</Descriptions.Item>
                <Descriptions.Item label="联系记录">
                  {f.contacts.length === 0
                    ? '尚未联系'
                    : f.contacts.map((c) => `${shanghaiDateTime(c.contactedAt)} ${resultLabel.get(c.result) ?? c.result}${c.note ? `：${c.note}` : ''}`).join('；')}
                </Descriptions.Item>
              </Descriptions>
              {f.status === 'open' && <Typography.Text type="warning">未登记复课证明前，校门将拦截该生入校。</Typography.Text>}
              {f.certificate && (
                <Typography.Text type="success">
                  复课证明：{f.certificate.issuedOn} 开具{f.certificate.issuer ? `（${f.certificate.issuer}）` : ''}
                </Typography.Text>
              )}
            </Card>
          ))}
        </Flex>
      )}
      {dialog && <FollowUpDialog dialog={dialog} base={base} options={options.data} symptoms={settings.data?.symptoms ?? []} onClose={() => setDialog(null)} />}
    </div>
  );
}

function FollowUpDialog({ dialog, base, options, symptoms, onClose }: { dialog: NonNullable<Dialog>; base: string; options?: CheckOptions; symptoms: SymptomOption[]; onClose(): void }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [form] = Form.useForm();
  const f = dialog.followUp;
  const url = `${base}/follow-ups/${encodeURIComponent(f.id)}`;
  const save = useMutation({
    mutationFn: async (values: Record<string, unknown>) => {
      if (dialog.kind === 'contact') return api(`${url}/contacts`, { method: 'POST', body: { result: values.result, note: values.note || null } });
      if (dialog.kind === 'certificate') {
        return api(`${url}/certificate`, { method: 'POST', body: { issuedOn: (values.issuedOn as Dayjs).format('YYYY-MM-DD'), issuer: values.issuer || null, note: values.note || null } });
      }
      return api(url, {
        method: 'PATCH',
        body: {
          symptoms: values.symptoms,
          sawDoctor: values.sawDoctor,
          diagnosis: values.diagnosis ?? null,
          diagnosisNote: values.diagnosisNote || null,
          expectedReturnOn: values.expectedReturnOn ? (values.expectedReturnOn as Dayjs).format('YYYY-MM-DD') : null,
        },
      });
    },
    onSuccess: () => {
      message.success(dialog.kind === 'certificate' ? '已登记复课证明，该生可正常入校' : '已保存');
      void client.invalidateQueries({ queryKey: ['follow-ups'] });
      onClose();
    },
  });
  const titles = { contact: '联系家长', update: '诊断与返校', certificate: '登记复课证明' };

  // A return on a day without school is allowed (the date may be the family's guess), but the user should see it.
  const returnOn = Form.useWatch('expectedReturnOn', form) as Dayjs | null | undefined;
  const returnDay = dialog.kind === 'update' && returnOn ? returnOn.format('YYYY-MM-DD') : null;
  const returnDayStatus = useQuery({
    queryKey: ['school-day', base, returnDay],
    queryFn: () => api<{ isSchoolDay: boolean; text: string }>(`${base}/calendar/days/${returnDay}`),
    enabled: returnDay !== null,
  });
  const returnDayWarning = returnDay !== null && returnDayStatus.data && !returnDayStatus.data.isSchoolDay ? `${returnDayStatus.data.text}，请确认预计返校日期` : undefined;

  return (
    <Modal open title={`${titles[dialog.kind]}：${f.name}`} onCancel={onClose} onOk={() => form.submit()} confirmLoading={save.isPending} okText="保存" destroyOnHidden>
      {save.error && <ErrorAlert error={save.error} />}
      <Form form={form} layout="vertical" onFinish={(values) => save.mutate(values)} initialValues={{ result: 'reached', symptoms: f.symptoms, sawDoctor: f.sawDoctor ?? false, diagnosis: f.diagnosis ?? undefined, diagnosisNote: f.diagnosisNote }}>
        {dialog.kind === 'contact' && (
          <>
            <Form.Item name="result" label="联系结果" rules={[{ required: true }]}>
              <Select options={(options?.contactResults ?? []).map((r) => ({ value: r.code, label: r.label }))} />
            </Form.Item>
            <Form.Item name="note" label="情况说明">
              <Input.TextArea rows={3} maxLength={500} placeholder="例如：家长称发热 38.5℃，已到社区医院就诊" />
            </Form.Item>
          </>
        )}
        {dialog.kind === 'update' && (
          <>
            <Form.Item name="symptoms" label="症状">
              <Select mode="multiple" options={symptoms.map((s) => ({ value: s.code, label: s.label }))} />
            </Form.Item>
            <Form.Item name="sawDoctor" label="已就诊" valuePropName="checked">
              <Switch />
            </Form.Item>
            <Form.Item name="diagnosis" label="诊断（法定传染病等）">
              <Select
                allowClear
                showSearch={{ optionFilterProp: 'label' }}
                placeholder="未明确可不选"
                options={(options?.diagnoses ?? []).map((d) => ({ value: d.code, label: `${d.name}（${d.category}）` }))}
              />
            </Form.Item>
            <Form.Item name="diagnosisNote" label="诊断说明">
              <Input maxLength={200} />
            </Form.Item>
            <Form.Item name="expectedReturnOn" label="预计返校日期" validateStatus={returnDayWarning ? 'warning' : undefined} help={returnDayWarning}>
              <DatePicker style={{ width: '100%' }} aria-label="预计返校日期" />
            </Form.Item>
          </>
        )}
        {dialog.kind === 'certificate' && (
          <>
            <Typography.Paragraph type="secondary">缺勤开始于 {f.absenceBeganOn}；复课证明日期不能早于该日，也不能晚于今天（{shanghaiToday()}）。</Typography.Paragraph>
            <Form.Item name="issuedOn" label="证明开具日期" rules={[{ required: true, message: '请选择证明开具日期' }]}>
              <DatePicker style={{ width: '100%' }} aria-label="证明开具日期" />
            </Form.Item>
            <Form.Item name="issuer" label="开具机构">
              <Input maxLength={100} placeholder="例如：区人民医院" />
            </Form.Item>
            <Form.Item name="note" label="备注">
              <Input.TextArea rows={2} maxLength={500} />
            </Form.Item>
          </>
        )}
      </Form>
    </Modal>
  );
}
