import type { AppContext } from '../context.js';
import type { DeviceRow } from '../modules/gate/store.js';
import { getSchoolByCodeOrThrow } from '../modules/people/service.js';
import { DEMO_LANE_HEARTBEAT_MS } from './lane-terminals.js';
import { DEMO_SCHOOL } from './seed.js';

/** The demo school's gate as the start-up banner describes it: every device, not only the seeded ones. */
export interface DemoGateSummary {
  /** Active devices. */
  devices: number;
  /** Devices an admin disabled on 设备. */
  disabledDevices: number;
  /** Lane names of the active devices, in the order the devices are listed; '未设通道' for a device without one. */
  lanes: string[];
  /** Active people of the school. */
  people: number;
  /** Active people with at least one face descriptor. */
  withFaceData: number;
}

/** Count the demo school's devices, lanes and face enrolment as the database has them now. */
export async function summarizeDemoGate(ctx: AppContext, devices: DeviceRow[]): Promise<DemoGateSummary> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  const active = devices.filter((device) => device.active === 1);
  const lanes = [...new Set(active.map((device) => device.lane ?? '未设通道'))];

  const counts = await ctx.db
    .selectFrom('persons')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('people'),
      eb.fn
        .count<number | string>('persons.id')
        .filterWhere(eb.exists(eb.selectFrom('face_descriptors').select('face_descriptors.id').whereRef('face_descriptors.person_id', '=', 'persons.id')))
        .as('withFaceData'),
    ])
    .where('persons.school_id', '=', school.id)
    .where('persons.active', '=', 1)
    .executeTakeFirstOrThrow();

  return { devices: active.length, disabledDevices: devices.length - active.length, lanes, people: Number(counts.people), withFaceData: Number(counts.withFaceData) };
}

/**
 * Format the banner line of the demo gate. `simulatedLanes` is how many lanes the demo's
 * simulated terminals keep online; lanes registered by hand have none.
 */
export function formatDemoGateLine(summary: DemoGateSummary, simulatedLanes: number): string {
  const disabled = summary.disabledDevices > 0 ? `，另有 ${summary.disabledDevices} 个已停用` : '';
  const lanes = summary.lanes.length > 0 ? `（${summary.lanes.join('、')}）` : '';
  const missing = summary.people - summary.withFaceData;
  const faces =
    missing === 0
      ? `全员 ${summary.people} 人已录入演示人脸特征值`
      : `${summary.withFaceData} 人已录入演示人脸特征值，${missing} 人没有人脸数据（可在“人员”页录入）`;
  const unsimulated = summary.devices - simulatedLanes;
  const heartbeat =
    `模拟终端为 ${simulatedLanes} 个演示通道每 ${DEMO_LANE_HEARTBEAT_MS / 1000} 秒发送一次心跳，保持在线` +
    (unsimulated > 0 ? `；另外登记的 ${unsimulated} 个通道没有模拟终端，设备不上报时显示离线` : '');
  return `  校门通道：${summary.devices} 个${lanes}${disabled}；${faces}；${heartbeat}`;
}
