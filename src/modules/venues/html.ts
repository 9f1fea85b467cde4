import { randomBytes } from 'node:crypto';

/** Escape text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A fresh nonce for the page's inline script, named in its Content-Security-Policy. */
export function newNonce(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * The Content-Security-Policy of the phone pages: their own inline style, the one
 * inline script with the nonce, requests and forms to this server only, no framing.
 */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `script-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "form-action 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The shared phone page shell: viewport, system fonts, a light style sheet. */
export function phoneShell(options: { title: string; body: string; style?: string; script?: string; nonce: string }): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)}</title>
<style>
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f2f3f5;color:#1f1f1f;font-size:17px;line-height:1.5}
main{max-width:480px;margin:0 auto;padding:16px}
h1{font-size:22px;margin:0 0 4px}
.venue{background:#fff;border-radius:10px;padding:14px 16px;margin-bottom:12px}
.venue small{color:#666;display:block}
label{display:block;margin:12px 0 4px;font-weight:600}
input[type=text],input[type=tel],select{width:100%;font-size:18px;padding:10px;border:1px solid #bbb;border-radius:8px;background:#fff}
.check{display:flex;gap:8px;align-items:flex-start;font-weight:400;margin-top:14px}
.check input{width:22px;height:22px;flex:none;margin-top:2px}
button{width:100%;font-size:19px;padding:13px;margin-top:18px;border:0;border-radius:10px;background:#0b6e3d;color:#fff;font-weight:700}
button.secondary{background:#e6e6e6;color:#222}
.error{background:#fff1f0;border:1px solid #ffa39e;color:#a8071a;border-radius:8px;padding:10px 12px;margin-bottom:12px}
.hint{color:#666;font-size:14px;margin:6px 0 0}
${options.style ?? ''}
</style></head>
<body>${options.body}${options.script ? `\n<script nonce="${options.nonce}">${options.script}</script>` : ''}
</body></html>`;
}
