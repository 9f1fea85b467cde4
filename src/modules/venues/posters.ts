import QRCode from 'qrcode';
import type { AppContext } from '../../context.js';
import { formatLocalDateTime } from '../../shared/time.js';
import { KIND_LABELS } from './checkin-display.js';
import { escapeHtml } from './html.js';
import { venueHeadline } from './pages.js';
import { codeUrlOf } from './service.js';
import type { VenueRow } from './store.js';

/**
 * Printable venue code posters and the bare QR code as PNG or SVG. Error correction
 * level Q (25 %) keeps a poster readable with a scratch or a sticker over a corner.
 */

export type PosterSize = 'a4' | 'bus';

/** Paper of each poster size: A4 for walls and counters, A5 portrait for a bus window. */
export const POSTER_PAGES: Record<PosterSize, { width: string; height: string; qr: string; title: string; name: string; text: string }> = {
  a4: { width: '210mm', height: '297mm', qr: '150mm', title: '20mm', name: '11mm', text: '5.2mm' },
  bus: { width: '148mm', height: '210mm', qr: '105mm', title: '14mm', name: '8mm', text: '3.8mm' },
};

const QR_OPTIONS = { errorCorrectionLevel: 'Q' as const, margin: 2 };

export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { ...QR_OPTIONS, type: 'svg' });
}

/** PNG of the QR code, `width` pixels square (at least 128). */
export async function qrPng(text: string, width = 1024): Promise<Buffer> {
  return QRCode.toBuffer(text, { ...QR_OPTIONS, type: 'png', width: Math.max(128, Math.min(width, 4096)) });
}

/** The big line under the title: the bus line and plate, or the venue's name. */
function headline(venue: VenueRow): string {
  return venueHeadline(venue);
}

async function posterSection(ctx: AppContext, venue: VenueRow): Promise<string> {
  const url = codeUrlOf(ctx, venue);
  const svg = await qrSvg(url);
  const subtitle = venue.kind === 'bus' ? `${escapeHtml(venue.operator)} · ${escapeHtml(venue.name)}` : `${escapeHtml(venue.operator)}${venue.address ? ` · ${escapeHtml(venue.address)}` : ''}`;
  const staff = venue.kind === 'bus' ? '司机' : '工作人员';
  return `<section class="poster">
  <h1>场所码</h1>
  <p class="name">${escapeHtml(headline(venue))}</p>
  <p class="sub">${subtitle}</p>
  <div class="qr">${svg}</div>
  <ol>
    <li>用手机相机、微信或支付宝“扫一扫”扫描上方二维码</li>
    <li>填写姓名和身份证号（或手机号），提交</li>
    <li>向${staff}出示核验结果页（时钟走动、边框为当日颜色）</li>
  </ol>
  <p class="fallback">没有手机或扫不了码？老年卡、学生卡、市民卡请刷卡；没有卡请找${staff}登记。</p>
  <p class="meta">${escapeHtml(KIND_LABELS[venue.kind])} · 编号 ${venue.id.slice(-8)} · 第 ${venue.code_version} 版 · ${formatLocalDateTime(venue.code_issued_at)} 生成</p>
</section>`;
}

/** An HTML document with one poster per venue, each on its own printed page. */
export async function posterDocument(ctx: AppContext, venues: VenueRow[], size: PosterSize, title: string): Promise<string> {
  const page = POSTER_PAGES[size];
  const sections = [];
  for (const venue of venues) sections.push(await posterSection(ctx, venue));
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
@page { size: ${page.width} ${page.height}; margin: 0; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; color: #111; }
.poster { width: ${page.width}; height: ${page.height}; padding: 8mm; display: flex; flex-direction: column; align-items: center; text-align: center; page-break-after: always; break-after: page; overflow: hidden; }
.poster:last-child { page-break-after: auto; break-after: auto; }
h1 { margin: 0; font-size: ${page.title}; letter-spacing: 0.3em; color: #0b6e3d; }
.name { margin: 2mm 0 0; font-size: ${page.name}; font-weight: 700; }
.sub { margin: 1mm 0 0; font-size: ${page.text}; color: #444; }
.qr { width: ${page.qr}; height: ${page.qr}; margin: 3mm 0; }
.qr svg { width: 100%; height: 100%; }
ol { margin: 0; padding-left: 1.4em; text-align: left; font-size: ${page.text}; line-height: 1.5; }
.fallback { margin: 2mm 0 0; font-size: ${page.text}; font-weight: 700; }
.meta { margin-top: auto; font-size: calc(${page.text} * 0.7); color: #666; }
@media screen { body { background: #ddd; } .poster { background: #fff; margin: 8px auto; box-shadow: 0 1px 4px #888; } }
</style></head>
<body>
${sections.join('\n')}
</body></html>`;
}
