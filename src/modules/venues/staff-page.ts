import type { VenueKind } from '../../db/schema.js';
import { phoneShell } from './html.js';
import { VENUE_DEVICE_CREDENTIAL } from './service.js';

/**
 * The staff phone page at /v/staff: a driver or shop assistant registers someone who
 * cannot scan (name, ID number or phone, and whether they saw the code) or types a
 * card number. The phone authenticates with its device key, which the admin's set-up
 * link carries in the URL fragment (never sent to the server in a request line) and the
 * page keeps in localStorage. All requests go to /api/venue-devices/* with the key as
 * a Bearer token.
 */

const STAFF_STYLE = `
.tabs{display:flex;gap:8px;margin:12px 0}
.tabs button{margin:0;padding:10px;font-size:17px;background:#e6e6e6;color:#222}
.tabs button.on{background:#0b6e3d;color:#fff}
.today{display:flex;align-items:center;gap:10px;background:#fff;border-radius:10px;padding:10px 14px;margin-bottom:12px}
.swatch{width:34px;height:34px;border-radius:6px;flex:none}
.result{border-radius:10px;padding:14px;margin-top:14px;color:#fff;font-size:20px;font-weight:700;text-align:center;display:none}
.result small{display:block;font-size:15px;font-weight:400}
.hidden{display:none}
.error:empty{display:none}
`;

const ASK_FOR_LINK = '请联系发给您链接的场所管理员，重新发一个“工作人员手机”设置链接，再用这台手机打开。';

/**
 * Messages of the staff page when it cannot work. They replace the API's messages, which
 * address device vendors (Authorization header, Bearer). Each one says what staff should do.
 */
export const STAFF_PAGE_MESSAGES = {
  rejectedKey: `这台手机保存的设备密钥无效，或设备已被停用，暂时不能登记。${ASK_FOR_LINK}`,
  brokenLink: `设置链接不完整或有误（可能复制时少了字符），没有保存。${ASK_FOR_LINK}`,
  offline: '连不上服务器，请检查手机网络后刷新本页再试。',
  serverError: '服务器暂时无法处理，请稍后刷新本页再试。',
  /** `{masked}` is replaced by the last four characters of the typed card number. */
  unknownCard: '尾号 {masked} 的卡未登记，不能按卡号登记。请点上方“代为登记”，填写持卡人的姓名和身份证号或手机号。',
  lostCard: '尾号 {masked} 的卡已挂失，不能按卡号登记。请核对持卡人身份后，点上方“代为登记”登记。',
};

/** Name of the person who shows their page to staff, by venue kind: passengers on a bus, customers in a shop, visitors elsewhere. */
export const PERSON_BY_KIND: Record<VenueKind, string> = { bus: '乘客', shop: '顾客', school_gate: '来访者', hall: '来访者', other: '来访者' };

/** Return the staff page's reminder of how to tell a live result page, worded for the people of a venue kind. */
export function frameHint(kind: VenueKind): string {
  return `${PERSON_BY_KIND[kind]}出示的页面边框不是这个颜色、或时钟不走，就不是当场核验的页面。`;
}

const STAFF_SCRIPT = `(function(){
var MSG=${JSON.stringify(STAFF_PAGE_MESSAGES)};
var HINTS=${JSON.stringify(Object.fromEntries(Object.keys(PERSON_BY_KIND).map((kind) => [kind, frameHint(kind as VenueKind)])))};
var FORM=new RegExp(${JSON.stringify(VENUE_DEVICE_CREDENTIAL.source)});
var K='fk_venue_staff_key',key='',brokenLink=false;
try{var m=/key=([^&]*)/.exec(location.hash);if(m){var k=null;try{k=decodeURIComponent(m[1])}catch(e){}
if(k!==null&&FORM.test(k))localStorage.setItem(K,k);else brokenLink=true;history.replaceState(null,'',location.pathname);}key=localStorage.getItem(K)||'';}catch(e){}
var $=function(id){return document.getElementById(id)};
function show(id,on){$(id).className=on?'':'hidden'}
function failed(status,message){return {_status:status,message:message}}
function call(path,body){var headers={'authorization':'Bearer '+key};if(body)headers['content-type']='application/json';
return fetch('/api/venue-devices/'+path,{method:body?'POST':'GET',headers:headers,body:body?JSON.stringify(body):undefined}).then(function(r){
if(r.status===401)return failed(401,MSG.rejectedKey);
return r.json().then(function(j){j._status=r.status;return j},function(){return failed(r.status>=400?r.status:500,MSG.serverError)})},function(){return failed(0,MSG.offline)})}
function setupError(message){show('setup',true);show('work',false);$('setupError').textContent=message}
function cardTail(text){return text.replace(/[\\s-]+/g,'').toUpperCase().slice(-4)}
function cardProblem(j,number){var t=j.error==='VENUE_CARD_UNKNOWN'?MSG.unknownCard:j.error==='VENUE_CARD_LOST'?MSG.lostCard:null;
if(t)j.message=t.replace('{masked}',cardTail(number));return j}
function result(j){var el=$('result');el.style.display='block';
if(j._status>=400||j._status===0){el.style.background='#a8071a';el.innerHTML='';el.appendChild(document.createTextNode(j.message||'登记失败'));return;}
el.style.background=j.color;el.innerHTML='';el.appendChild(document.createTextNode(j.symbol+' '+j.label));var s=document.createElement('small');s.textContent=j.maskedName+' · '+j.venue+(j.duplicate?' · 几分钟内已登记过':'');el.appendChild(s);}
if(brokenLink){setupError(MSG.brokenLink);return;}
if(!key){show('setup',true);show('work',false);return;}
if(!FORM.test(key)){setupError(MSG.brokenLink);return;}
show('setup',false);
call('me').then(function(j){if(j._status>=400||j._status===0){setupError(j.message||MSG.serverError);return;}
$('swatch').style.background=j.today.css;$('todayName').textContent=j.today.name;
var sel=$('venue');j.venues.forEach(function(v){var o=document.createElement('option');o.value=v.id;o.textContent=v.label;sel.appendChild(o)});
function showVenue(){var v=j.venues[sel.selectedIndex]||null;
$('venueName').textContent=v?v.label:'工作人员登记';$('device').textContent=(v?v.operator:j.device.operator)+' · '+j.device.name;
$('frameHint').textContent=HINTS[v?v.kind:'other'];}
sel.addEventListener('change',showVenue);showVenue();
if(j.venues.length<2)$('venueRow').className='hidden';show('work',true);});
var tabs=document.querySelectorAll('.tabs button');for(var i=0;i<tabs.length;i++)tabs[i].addEventListener('click',function(){for(var k=0;k<tabs.length;k++)tabs[k].className='';this.className='on';show('manual',this.getAttribute('data-tab')==='manual');show('card',this.getAttribute('data-tab')==='card');$('result').style.display='none';});
$('seen').addEventListener('change',function(){show('seenColorRow',this.checked)});
$('manual').addEventListener('submit',function(e){e.preventDefault();var f=this.elements;
call('manual-checkins',{venueId:$('venue').value||undefined,name:f.name.value,idNumber:f.idNumber.value||undefined,phone:f.phone.value||undefined,codeSeen:f.seen.checked,seenColor:f.seen.checked&&f.seenColor.value?f.seenColor.value:undefined}).then(function(j){result(j);if(j._status>0&&j._status<400){$('manual').reset();show('seenColorRow',false);}});});
$('card').addEventListener('submit',function(e){e.preventDefault();var f=this.elements;
var number=f.cardNumber.value;
call('card-checkins',{venueId:$('venue').value||undefined,cardNumber:number,typed:true}).then(function(j){result(cardProblem(j,number));if(j._status>0&&j._status<400)$('card').reset();});});
})();`;

export function staffPage(nonce: string): string {
  const body = `<main>
<div id="setup" class="hidden"><div class="venue"><h1>工作人员登记</h1><p>请用管理员发给您的“工作人员手机”设置链接打开本页。</p><p class="error" id="setupError"></p></div></div>
<div id="work" class="hidden">
<div class="venue"><h1 id="venueName">工作人员登记</h1><small id="device"></small></div>
<div class="today"><span class="swatch" id="swatch"></span><span>今日核验页边框颜色：<b id="todayName"></b><br><small id="frameHint">${frameHint('other')}</small></span></div>
<div id="venueRow"><label for="venue">场所</label><select id="venue"></select></div>
<div class="tabs"><button type="button" class="on" data-tab="manual">代为登记</button><button type="button" data-tab="card">输入卡号</button></div>
<form id="manual">
<label for="m-name">姓名</label><input type="text" id="m-name" name="name" maxlength="30" required>
<label for="m-id">身份证号</label><input type="text" id="m-id" name="idNumber" maxlength="20">
<label for="m-phone">手机号（没有身份证号时填写）</label><input type="tel" id="m-phone" name="phone" maxlength="16" inputmode="numeric">
<label class="check"><input type="checkbox" id="seen" name="seen" value="1"><span>已查看本人健康码</span></label>
<div id="seenColorRow" class="hidden"><label for="seenColor">看到的健康码颜色</label><select id="seenColor" name="seenColor"><option value="">（不填）</option><option value="green">绿码</option><option value="yellow">黄码</option><option value="red">红码</option></select></div>
<button type="submit">登记</button>
</form>
<form id="card" class="hidden">
<label for="c-number">卡号（老年卡、学生卡、市民卡）</label><input type="text" id="c-number" name="cardNumber" maxlength="40" required inputmode="numeric">
<button type="submit">按卡号登记</button>
</form>
<div class="result" id="result" role="status"></div>
</div>
</main>`;
  return phoneShell({ title: '工作人员登记', body, style: STAFF_STYLE, script: STAFF_SCRIPT, nonce });
}
