import { formatLocalDateTime, formatLocalTime } from '../../shared/time.js';
import { busLineLabel } from './bus-fields.js';
import { KIND_LABELS, maskName, verdictOfCheckin, type FrameColor } from './checkin-display.js';
import { escapeHtml, phoneShell } from './html.js';
import type { CodeRefusal } from './service.js';
import { REFUSAL_TEXT } from './service.js';
import type { CheckinRow, VenueRow } from './store.js';

/**
 * The phone pages, rendered on the server as small self-contained HTML (no framework,
 * no external files), so a cheap phone on a poor network shows them after one request.
 * Scripts are progressive: the forms work without them.
 */

/** The venue as a phone shows it: the line and plate of a bus, else the name. */
export function venueHeadline(venue: Pick<VenueRow, 'kind' | 'name' | 'line' | 'plate'>): string {
  return venue.kind === 'bus' ? `${venue.line ? busLineLabel(venue.line) : ''} ${venue.plate ?? ''}`.trim() : venue.name;
}

function venueBlock(venue: VenueRow): string {
  const detail = venue.kind === 'bus' ? `${venue.operator} · ${venue.name}` : `${KIND_LABELS[venue.kind]} · ${venue.operator}`;
  return `<div class="venue"><h1>${escapeHtml(venueHeadline(venue))}</h1><small>${escapeHtml(detail)}</small></div>`;
}

export interface FormValues {
  name?: string;
  idNumber?: string;
  phone?: string;
  remember?: boolean;
}

/** Remembered identity, kept in this phone's localStorage only when the person ticks the box. */
const REMEMBER_KEY = 'fk_venue_identity';

const FORM_SCRIPT = `(function(){
var f=document.getElementById('checkin');if(!f)return;
var k='${REMEMBER_KEY}',r=f.elements.remember;
try{var s=JSON.parse(localStorage.getItem(k)||'null');
if(s&&!f.elements.name.value){f.elements.name.value=s.name||'';f.elements.idNumber.value=s.idNumber||'';f.elements.phone.value=s.phone||'';r.checked=true;document.getElementById('forget').style.display='block';}}catch(e){}
f.addEventListener('submit',function(){try{if(r.checked){localStorage.setItem(k,JSON.stringify({name:f.elements.name.value,idNumber:f.elements.idNumber.value,phone:f.elements.phone.value}));}else{localStorage.removeItem(k);}}catch(e){}
var b=f.querySelector('button');b.disabled=true;b.textContent='正在核验…';});
document.getElementById('forget').addEventListener('click',function(e){e.preventDefault();try{localStorage.removeItem(k);}catch(x){}f.reset();r.checked=false;this.style.display='none';});
})();`;

/** The check-in form of a venue; `error` is shown above it with the values kept. */
export function checkinFormPage(options: { venue: VenueRow; token: string; nonce: string; values?: FormValues; error?: string }): string {
  const values = options.values ?? {};
  const body = `<main>
${venueBlock(options.venue)}
${options.error ? `<div class="error" role="alert">${escapeHtml(options.error)}</div>` : ''}
<form id="checkin" method="post" action="/v/${escapeHtml(options.token)}" autocomplete="on">
<label for="name">姓名</label>
<input type="text" id="name" name="name" maxlength="30" required value="${escapeHtml(values.name ?? '')}" autocomplete="name">
<label for="idNumber">身份证号</label>
<input type="text" id="idNumber" name="idNumber" maxlength="20" inputmode="text" value="${escapeHtml(values.idNumber ?? '')}" autocomplete="off">
<label for="phone">手机号<span class="hint">（没有身份证号可只填手机号）</span></label>
<input type="tel" id="phone" name="phone" maxlength="16" inputmode="numeric" value="${escapeHtml(values.phone ?? '')}" autocomplete="tel">
<label class="check"><input type="checkbox" name="remember" value="1"${values.remember ? ' checked' : ''}><span>在本机记住我的信息，下次免填（只保存在这台手机上，不上传）</span></label>
<button type="submit">登记并查看健康码</button>
<a href="#" id="forget" class="hint" style="display:none;margin-top:12px">清除本机记住的信息</a>
</form>
<p class="hint">登记信息仅用于疫情防控，到期自动删除。</p>
</main>`;
  return phoneShell({ title: `场所码登记 - ${venueHeadline(options.venue)}`, body, script: FORM_SCRIPT, nonce: options.nonce });
}

const RESULT_STYLE = `
body{background:#111}
.frame{position:relative;min-height:100vh;padding:14px;background:repeating-linear-gradient(45deg,var(--day) 0 18px,#fff 18px 30px);animation:move 2.4s linear infinite}
@keyframes move{from{background-position:0 0}to{background-position:42.4px 0}}
.card{background:#fff;border-radius:14px;padding:18px 16px;min-height:calc(100vh - 28px);display:flex;flex-direction:column;align-items:center;text-align:center}
.clock{font-size:46px;font-weight:800;font-variant-numeric:tabular-nums;letter-spacing:1px;line-height:1.1}
.date{color:#555;font-size:16px}
.badge{width:128px;height:128px;border-radius:50%;color:#fff;font-size:78px;line-height:128px;font-weight:800;margin:14px 0 6px;animation:pulse 1.6s ease-in-out infinite}
@keyframes pulse{50%{transform:scale(.93)}}
.label{font-size:30px;font-weight:800;margin:4px 0}
.advice{font-size:17px;margin:4px 0 10px}
.who{font-size:22px;font-weight:700}
.meta{color:#555;font-size:15px;margin:2px 0}
.venue2{font-size:20px;font-weight:700;margin-top:10px}
.note{background:#fffbe6;border:1px solid #ffe58f;border-radius:8px;padding:8px 10px;margin-top:10px;font-size:15px}
.expired{color:#a8071a;font-size:20px;font-weight:700;margin:30px 0}
`;

const CLOCK_SCRIPT = `(function(){
var c=document.getElementById('clock'),d=document.getElementById('date');
function p(n){return(n<10?'0':'')+n}
function t(){var u=new Date(Date.now()+8*3600000);
c.textContent=p(u.getUTCHours())+':'+p(u.getUTCMinutes())+':'+p(u.getUTCSeconds());
d.textContent=u.getUTCFullYear()+'年'+(u.getUTCMonth()+1)+'月'+u.getUTCDate()+'日 星期'+'日一二三四五六'.charAt(u.getUTCDay());}
t();setInterval(t,1000);
})();`;

export interface ResultPageOptions {
  venue: VenueRow;
  checkin: CheckinRow;
  duplicate: boolean;
  frame: FrameColor;
  now: number;
  nonce: string;
  /** True when the result is older than its validity and must not be shown as a pass. */
  expired: boolean;
  /** Link back to the venue's check-in form, for a new scan. */
  formUrl: string | null;
}

/**
 * The result page: a live clock (seconds ticking, Beijing time) and a frame in the day's
 * colour that keeps moving, with the verdict, the masked name and the venue. A
 * screenshot shows a frozen clock and, on another day, the wrong frame colour.
 */
export function resultPage(options: ResultPageOptions): string {
  const { venue, checkin, now } = options;
  const verdict = verdictOfCheckin(checkin);
  const identityLine = checkin.id_number_masked ?? checkin.phone_masked ?? '';
  const clock = `<div class="clock" id="clock">${formatLocalTime(now)}</div><div class="date" id="date">${formatLocalDateTime(now).slice(0, 10)}</div>`;

  let core: string;
  if (options.expired) {
    core = `<p class="expired">此结果页已过期，不能作为通行凭证</p><p class="advice">请重新扫描场所码登记。</p>`;
  } else {
    const notes: string[] = [];
    if (options.duplicate) notes.push(`您已于 ${formatLocalTime(checkin.checked_in_at)} 在此登记，几分钟内重复扫码按一次登记。`);
    if (checkin.code_source === 'no_id_number') notes.push('只填写了手机号，无法查询健康码。');
    core = `<div class="badge" style="background:${verdict.color}" aria-hidden="true">${verdict.symbol}</div>
<div class="label" style="color:${verdict.color}" data-verdict="${verdict.verdict}">${escapeHtml(verdict.label)}</div>
<div class="advice">${escapeHtml(verdict.advice)}</div>
<div class="who">${escapeHtml(maskName(checkin.name))}</div>
<div class="meta">${escapeHtml(identityLine)}</div>
<div class="venue2">${escapeHtml(venueHeadline(venue))}</div>
<div class="meta">${escapeHtml(venue.operator)} · 登记时间 ${formatLocalTime(checkin.checked_in_at)}</div>
${notes.map((n) => `<div class="note">${escapeHtml(n)}</div>`).join('')}`;
  }

  const again = options.formUrl ? `<p class="meta" style="margin-top:auto;padding-top:12px"><a href="${escapeHtml(options.formUrl)}">重新登记</a></p>` : '';
  const body = `<div class="frame" style="--day:${options.frame.css}"><div class="card">${clock}${core}${again}</div></div>`;
  return phoneShell({ title: `核验结果 - ${venueHeadline(venue)}`, body, style: RESULT_STYLE, script: CLOCK_SCRIPT, nonce: options.nonce });
}

/** A refused code, with what to do instead. */
export function refusalPage(refusal: CodeRefusal, nonce: string, venue?: VenueRow): string {
  const text = REFUSAL_TEXT[refusal];
  const body = `<main>
<div class="venue" style="text-align:center">
<div style="font-size:64px;color:#cf1322;line-height:1.2" aria-hidden="true">✕</div>
<h1 data-refusal="${refusal}">${escapeHtml(text.title)}</h1>
${venue ? `<p class="hint">${escapeHtml(venueHeadline(venue))} · ${escapeHtml(venue.operator)}</p>` : ''}
<p>${escapeHtml(text.advice)}</p>
</div>
</main>`;
  return phoneShell({ title: text.title, body, nonce });
}

/** A plain message page: too many requests, an expired link, a server error. */
export function messagePage(title: string, message: string, nonce: string): string {
  const body = `<main><div class="venue" style="text-align:center"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></div></main>`;
  return phoneShell({ title, body, nonce });
}
