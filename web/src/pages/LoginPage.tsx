import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { LockOutlined, SafetyCertificateOutlined, UserOutlined } from '@ant-design/icons';
import { api } from '../api/client';
import { useLogin, useSetup } from '../auth/session';

function Brand({ subtitle }: { subtitle: string }) {
  return (
    <div style={{ textAlign: 'center', marginBottom: 24 }}>
      <SafetyCertificateOutlined style={{ fontSize: 40, color: '#1677ff' }} />
      <Typography.Title level={3} style={{ margin: '8px 0 4px' }}>
        智慧防控平台
      </Typography.Title>
      <Typography.Text type="secondary">{subtitle}</Typography.Text>
    </div>
  );
}

function LoginForm() {
  const login = useLogin();
  return (
    <Card>
      <Brand subtitle="请使用学校或区里分配的账号登录" />
      {login.error && <Alert type="error" showIcon title={login.error.message} style={{ marginBottom: 16 }} data-testid="login-error" />}
      {/* The server's error is about the values sent, so it goes as soon as the user edits one. */}
      <Form
        layout="vertical"
        size="large"
        onFinish={(values: { username: string; password: string }) => login.mutate(values)}
        onValuesChange={() => login.error && login.reset()}
        requiredMark={false}
      >
        <Form.Item name="username" label="用户名" rules={[{ required: true, message: '请输入用户名' }]}>
          <Input prefix={<UserOutlined />} autoComplete="username" autoFocus />
        </Form.Item>
        <Form.Item name="password" label="密码" rules={[{ required: true, message: '请输入密码' }]}>
          <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={login.isPending}>
          登录
        </Button>
      </Form>
    </Card>
  );
}

interface SetupValues {
  username: string;
  displayName: string;
  password: string;
  confirm: string;
}

function SetupForm() {
  const setup = useSetup();
  return (
    <Card>
      <Brand subtitle="首次使用：请创建区级管理员账号" />
      {setup.error && <Alert type="error" showIcon title={setup.error.message} style={{ marginBottom: 16 }} />}
      <Form
        layout="vertical"
        onFinish={({ username, displayName, password }: SetupValues) => setup.mutate({ username, displayName, password })}
        onValuesChange={() => setup.error && setup.reset()}
        requiredMark={false}
      >
        <Form.Item name="username" label="用户名" rules={[{ required: true, message: '请输入用户名' }, { pattern: /^[A-Za-z0-9_.-]{3,32}$/, message: '3-32 位字母、数字、下划线、点或连字符' }]}>
          <Input autoComplete="username" />
        </Form.Item>
        <Form.Item name="displayName" label="姓名" rules={[{ required: true, message: '请输入姓名' }]}>
          <Input />
        </Form.Item>
        <Form.Item name="password" label="密码" rules={[{ required: true, message: '请输入密码' }, { min: 8, message: '密码至少 8 个字符' }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="confirm"
          label="确认密码"
          dependencies={['password']}
          rules={[
            { required: true, message: '请再次输入密码' },
            ({ getFieldValue }) => ({
              validator: (_, value) => (value === getFieldValue('password') ? Promise.resolve() : Promise.reject(new Error('两次输入的密码不一致'))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={setup.isPending}>
          创建并登录
        </Button>
      </Form>
    </Card>
  );
}

/** Sign-in, or first-run creation of the district admin while no account exists. */
export function LoginPage() {
  const setupState = useQuery({ queryKey: ['auth', 'setup'], queryFn: () => api<{ needed: boolean }>('/api/auth/setup') });
  return <div className="fk-login">{setupState.data?.needed ? <SetupForm /> : <LoginForm />}</div>;
}
