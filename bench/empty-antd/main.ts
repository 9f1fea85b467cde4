// The baseline of bench/dashboard.ts: an Ant Design page with only a card and a button,
// built by Vite and rendered with React 19 and the zh_CN locale like the console. Written
// with createElement so the repository's Node typecheck, which has no JSX, reads it too.
import { StrictMode, createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { Button, Card, ConfigProvider, Layout } from 'antd';
import zhCNModule from 'antd/locale/zh_CN.js';

// antd ships the locale as CommonJS: Vite hands over the locale itself, while the Node
// typecheck sees the module object around it.
const zhCN = ((zhCNModule as { default?: unknown }).default ?? zhCNModule) as Parameters<typeof ConfigProvider>[0]['locale'];

createRoot(document.getElementById('root')!).render(
  h(
    StrictMode,
    null,
    h(
      ConfigProvider,
      { locale: zhCN },
      h(Layout, { style: { minHeight: '100vh', padding: 24 } }, h(Card, { title: '空白页' }, h(Button, { type: 'primary', id: 'ready' }, '确定'))),
    ),
  ),
);
