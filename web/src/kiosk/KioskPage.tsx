import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { FullscreenOutlined, SettingOutlined } from '@ant-design/icons';
import { shanghai } from '../format';
import {
  DeviceRequestError,
  ServerUnreachableError,
  loadCredentials,
  parseCredentials,
  saveCredentials,
  sendEventWithRetry,
  sendHeartbeat,
  type DeviceDecision,
  type KioskCredentials,
} from './device-client';
import { descriptorDistance, loadFaceEngine, type FaceEngine, type FaceReading } from './face';
import { speakPrompt } from './speech';
import './kiosk.css';

/** Pause between two camera reads while no decision is pending. */
const SCAN_INTERVAL_MS = 250;
/** How long a decision stays on screen. */
const VERDICT_HOLD_MS = 3500;
/** The same face is not sent again within this time, so a person standing at the lane is recorded once. */
const SAME_FACE_REPEAT_MS = 10_000;
/** Descriptors closer than this are taken as the same person still at the lane. */
const SAME_FACE_DISTANCE = 0.4;
const HEARTBEAT_MS = 30_000;
const HEARTBEAT_RETRY_MS = 5000;

type Phase = { name: 'setup' } | { name: 'loading'; step: string } | { name: 'ready' } | { name: 'error'; message: string; canReset: boolean };

interface Verdict {
  decision: DeviceDecision['decision'] | 'notice';
  prompt: string;
  personName: string | null;
}

function newEventId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function cameraErrorMessage(error: unknown): string {
  const name = (error as { name?: string }).name;
  if (name === 'NotAllowedError') return '未获得摄像头权限：请在浏览器设置中允许本页面使用摄像头，然后刷新页面';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return '未找到可用的摄像头，请连接摄像头后刷新页面';
  if (name === 'NotReadableError') return '摄像头被其他程序占用，请关闭其他程序后刷新页面';
  return `无法打开摄像头：${error instanceof Error ? error.message : String(error)}`;
}

function SetupForm({ onSaved }: { onSaved: (credentials: KioskCredentials) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [isChecking, setChecking] = useState(false);

  const handleFinish = async (values: { deviceId: string; key: string }) => {
    // An admin may paste `<id>.<key>` from the Authorization header into the first field.
    const [idPart, keyPart] = values.deviceId.includes('.') && !values.key ? values.deviceId.split('.', 2) : [values.deviceId, values.key ?? ''];
    if (!idPart.trim() || !keyPart.trim()) {
      // Reached only by a pasted `<id>.<key>` with one side empty; the field rules catch the rest.
      setError(idPart.trim() ? '请输入设备密钥' : '请输入设备 ID');
      return;
    }
    const credentials = parseCredentials(idPart, keyPart);
    if (!credentials) {
      setError('设备 ID 或密钥格式不正确：设备 ID 为字母和数字，密钥为 43 位左右的字母、数字、- 和 _');
      return;
    }
    setError(null);
    setChecking(true);
    try {
      await sendHeartbeat(credentials);
      saveCredentials(credentials);
      onSaved(credentials);
    } catch (caught) {
      if (caught instanceof DeviceRequestError && caught.status === 401) setError('设备 ID 或密钥不正确，请核对后重新输入');
      else if (caught instanceof ServerUnreachableError) setError('无法连接服务器，请检查网络后重试');
      else setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setChecking(false);
    }
  };

  return (
    <div className="kiosk-setup">
      <Card title="闸机设置" style={{ width: '100%', maxWidth: 460 }}>
        <Typography.Paragraph type="secondary">
          请管理员输入本平板的设备 ID 和设备密钥（登记设备时显示一次）。设置保存在本机浏览器中，之后无需再次输入。
        </Typography.Paragraph>
        {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="kiosk-setup-error" />}
        <Form layout="vertical" onFinish={handleFinish} onValuesChange={() => setError(null)} requiredMark={false}>
          <Form.Item name="deviceId" label="设备 ID" rules={[{ required: true, whitespace: true, message: '请输入设备 ID' }]}>
            <Input autoComplete="off" size="large" />
          </Form.Item>
          <Form.Item
            name="key"
            label="设备密钥"
            dependencies={['deviceId']}
            rules={[
              ({ getFieldValue }) => ({
                // The key may be empty only when `<id>.<key>` was pasted into the first field.
                validator: async (_, value: string | undefined) => {
                  if (value?.trim() || String(getFieldValue('deviceId') ?? '').includes('.')) return;
                  throw new Error('请输入设备密钥');
                },
              }),
            ]}
          >
            <Input.Password autoComplete="off" size="large" />
          </Form.Item>
          <Button type="primary" htmlType="submit" size="large" block loading={isChecking}>
            保存并启动
          </Button>
        </Form>
      </Card>
    </div>
  );
}

function Clock() {
  const [now, setNow] = useState(() => shanghai());
  useEffect(() => {
    const timer = setInterval(() => setNow(shanghai()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <span className="kiosk-clock">{now.format('M月D日 HH:mm:ss')}</span>;
}

/** Draw the face box over the mirrored video, green while a face is near enough. */
function drawFace(canvas: HTMLCanvasElement | null, video: HTMLVideoElement, reading: FaceReading | null): void {
  if (!canvas) return;
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  if (!context) return;
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!reading) return;
  context.lineWidth = Math.max(3, canvas.width / 160);
  context.strokeStyle = '#52c41a';
  context.strokeRect(reading.box.x, reading.box.y, reading.box.width, reading.box.height);
}

/**
 * Run the lane: camera, face recognition in the browser, and the server's decision shown
 * large and spoken. Events that cannot reach the server are resent until it responds.
 */
function Lane({ credentials, onReset }: { credentials: KioskCredentials; onReset: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const temperatureRef = useRef('');
  const [phase, setPhase] = useState<Phase>({ name: 'loading', step: '正在打开摄像头' });
  const [engine, setEngine] = useState<FaceEngine | null>(null);
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [retrying, setRetrying] = useState<number | null>(null);
  const [serverDown, setServerDown] = useState(false);
  const [temperature, setTemperature] = useState('');
  temperatureRef.current = temperature;

  // Camera first, then the models: a missing camera is reported before 12 MB are loaded.
  useEffect(() => {
    let stream: MediaStream | null = null;
    let cancelled = false;
    const start = async () => {
      if (!navigator.mediaDevices?.getUserMedia) throw new Error('此页面无法使用摄像头：请通过 HTTPS 或本机地址打开闸机页面');
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
      } catch (error) {
        throw new Error(cameraErrorMessage(error));
      }
      if (cancelled) return;
      video.current!.srcObject = stream;
      await video.current!.play();
      const loaded = await loadFaceEngine((step) => !cancelled && setPhase({ name: 'loading', step }));
      if (cancelled) return;
      setEngine(loaded);
      setPhase({ name: 'ready' });
    };
    start().catch((error: unknown) => !cancelled && setPhase({ name: 'error', message: error instanceof Error ? error.message : String(error), canReset: false }));
    return () => {
      cancelled = true;
      for (const track of stream?.getTracks() ?? []) track.stop();
    };
  }, []);

  // Heartbeats keep the device online in the console and notice an outage between people.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    let stopped = false;
    const beat = async () => {
      let next = HEARTBEAT_MS;
      try {
        await sendHeartbeat(credentials);
        setServerDown(false);
      } catch (error) {
        if (error instanceof DeviceRequestError && error.status === 401) {
          setPhase({ name: 'error', message: '设备认证失败：设备可能已停用或密钥已更换，请管理员重新设置', canReset: true });
          return;
        }
        setServerDown(true);
        next = HEARTBEAT_RETRY_MS;
      }
      if (!stopped) timer = setTimeout(() => void beat(), next);
    };
    timer = setTimeout(() => void beat(), HEARTBEAT_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [credentials]);

  // The recognition loop: look, send one event per person, show and speak the decision.
  useEffect(() => {
    if (!engine || phase.name !== 'ready') return;
    const controller = new AbortController();
    let last: { descriptor: Float32Array; at: number } | null = null;
    let clearTimer: ReturnType<typeof setTimeout> | undefined;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    const decide = async (reading: FaceReading) => {
      const typed = temperatureRef.current.trim();
      const event = {
        eventId: newEventId(),
        occurredAt: Date.now(),
        temperature: typed === '' || Number.isNaN(Number(typed)) ? null : Number(typed),
        descriptor: Array.from(reading.descriptor),
      };
      try {
        const decision = await sendEventWithRetry(credentials, event, (attempt) => setRetrying(attempt), controller.signal);
        setRetrying(null);
        setServerDown(false);
        setVerdict({ decision: decision.decision, prompt: decision.prompt, personName: decision.personName });
        speakPrompt(decision.prompt);
        if (event.temperature !== null) setTemperature('');
      } catch (error) {
        setRetrying(null);
        if (controller.signal.aborted) return;
        if (error instanceof DeviceRequestError && error.status === 401) {
          setPhase({ name: 'error', message: '设备认证失败：设备可能已停用或密钥已更换，请管理员重新设置', canReset: true });
          return;
        }
        setVerdict({ decision: 'notice', prompt: error instanceof Error ? error.message : String(error), personName: null });
      }
      last = { descriptor: reading.descriptor, at: performance.now() };
      clearTimeout(clearTimer);
      clearTimer = setTimeout(() => setVerdict(null), VERDICT_HOLD_MS);
      await sleep(VERDICT_HOLD_MS);
    };

    const run = async () => {
      while (!controller.signal.aborted) {
        const camera = video.current;
        if (!camera || camera.readyState < 2) {
          await sleep(SCAN_INTERVAL_MS);
          continue;
        }
        let reading: FaceReading | null = null;
        try {
          reading = await engine.read(camera);
        } catch {
          reading = null;
        }
        if (controller.signal.aborted) return;
        drawFace(overlay.current, camera, reading);
        const isSamePerson = reading && last && performance.now() - last.at < SAME_FACE_REPEAT_MS && descriptorDistance(reading.descriptor, last.descriptor) < SAME_FACE_DISTANCE;
        if (reading && !isSamePerson) await decide(reading);
        else await sleep(SCAN_INTERVAL_MS);
      }
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(clearTimer);
    };
  }, [engine, phase.name, credentials]);

  const handleFullscreen = async () => {
    try {
      await document.documentElement.requestFullscreen();
      await (screen.orientation as ScreenOrientation & { lock?: (o: string) => Promise<void> }).lock?.('landscape');
    } catch {
      // Fullscreen or the orientation lock is refused outside a user gesture or on desktops; the page works without.
    }
  };

  const handleReset = () => {
    if (!window.confirm('清除本机保存的设备 ID 和密钥？清除后需要管理员重新输入。')) return;
    saveCredentials(null);
    onReset();
  };

  let panel;
  if (phase.name === 'error') {
    panel = (
      <div className="kiosk-verdict kiosk-verdict-error" data-testid="kiosk-verdict">
        <div className="kiosk-verdict-title">暂停服务</div>
        <div className="kiosk-verdict-prompt">{phase.message}</div>
      </div>
    );
  } else if (phase.name === 'loading') {
    panel = (
      <div className="kiosk-verdict kiosk-verdict-idle" data-testid="kiosk-verdict">
        <div className="kiosk-verdict-title">准备中</div>
        <div className="kiosk-verdict-prompt">{phase.step}…</div>
      </div>
    );
  } else if (verdict) {
    const title = verdict.decision === 'pass' ? '请通行' : verdict.decision === 'deny' ? '禁止通行' : '请稍候';
    panel = (
      <div className={`kiosk-verdict kiosk-verdict-${verdict.decision}`} data-testid="kiosk-verdict" data-decision={verdict.decision}>
        <div className="kiosk-verdict-title">{title}</div>
        {verdict.personName && <div className="kiosk-verdict-name">{verdict.personName}</div>}
        <div className="kiosk-verdict-prompt">{verdict.prompt}</div>
      </div>
    );
  } else {
    panel = (
      <div className="kiosk-verdict kiosk-verdict-idle" data-testid="kiosk-verdict" data-decision="idle">
        <div className="kiosk-verdict-title">请正视摄像头</div>
        <div className="kiosk-verdict-prompt">{retrying !== null ? '正在提交通行记录…' : '摘下帽子和口罩，站在提示框内'}</div>
      </div>
    );
  }

  return (
    <div className="kiosk">
      <header className="kiosk-header">
        <span className="kiosk-brand">智慧防控平台 · 入校闸机</span>
        <Clock />
        <span className="kiosk-actions">
          <Button type="text" icon={<FullscreenOutlined />} onClick={handleFullscreen} aria-label="全屏">
            全屏
          </Button>
          <Button type="text" icon={<SettingOutlined />} onClick={handleReset} aria-label="重新设置">
            设置
          </Button>
        </span>
      </header>
      {(retrying !== null || serverDown) && (
        <div className="kiosk-banner" role="alert" data-testid="kiosk-banner">
          服务器连接中断，正在重试{retrying !== null ? `（第 ${retrying} 次）` : ''}
        </div>
      )}
      <main className="kiosk-main">
        <section className="kiosk-camera">
          <video ref={video} muted playsInline aria-label="摄像头画面" />
          <canvas ref={overlay} aria-hidden />
        </section>
        <section className="kiosk-panel">
          {panel}
          <label className="kiosk-temperature">
            <span>体温（℃）</span>
            <input
              inputMode="decimal"
              value={temperature}
              placeholder="未测"
              aria-label="体温"
              onChange={(event) => setTemperature(event.target.value.replace(/[^\d.]/g, '').slice(0, 4))}
            />
          </label>
          <div className="kiosk-footer" data-testid="kiosk-status">
            设备 {credentials.deviceId.slice(-6)} · {engine ? `识别引擎 ${engine.backend === 'webgl' ? 'WebGL' : 'WebAssembly'}` : '识别引擎未就绪'}
            {phase.name === 'error' && phase.canReset && (
              <Button size="small" onClick={handleReset} style={{ marginLeft: 12 }}>
                重新设置
              </Button>
            )}
          </div>
        </section>
      </main>
    </div>
  );
}

/** /kiosk: a tablet at a gate lane, set up once with its device id and key. */
export default function KioskPage() {
  const [credentials, setCredentials] = useState<KioskCredentials | null>(() => loadCredentials());
  if (!credentials) return <SetupForm onSaved={setCredentials} />;
  return <Lane credentials={credentials} onReset={() => setCredentials(null)} />;
}
