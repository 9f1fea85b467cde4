/**
 * Speak a lane prompt in Mandarin with the browser's speech synthesis, and return false
 * when the browser has none. A zh-CN voice is used when one is installed. Otherwise the
 * default voice reads the text tagged zh-CN.
 */
export function speakPrompt(text: string): boolean {
  if (typeof window === 'undefined' || !('speechSynthesis' in window)) return false;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = 'zh-CN';
  utterance.rate = 1.05;
  const voice = window.speechSynthesis.getVoices().find((v) => v.lang.toLowerCase().replace('_', '-').startsWith('zh-cn'));
  if (voice) utterance.voice = voice;
  // A new person's prompt replaces the previous one instead of queueing behind it.
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(utterance);
  return true;
}
