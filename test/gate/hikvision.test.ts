import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyEvent, extractEvents, parseDeviceTime, readTerminalPush, toCelsius } from '../../src/modules/gate/hikvision.js';
import { parseMultipart, sniffBoundary } from '../../src/modules/gate/multipart.js';
import { parseXml } from '../../src/modules/gate/xml.js';
import { hikvisionEventJson, hikvisionEventXml, hikvisionMultipart, tinyJpeg } from '../../tools/simulators/terminal-payloads.js';

const fixtures = join(import.meta.dirname, '../fixtures/terminal-events');
const alertStream = readFileSync(join(fixtures, 'hikvision_alertStream_excerpt.txt'));
const acsSearch = JSON.parse(readFileSync(join(fixtures, 'hikvision_acs_event_search.json'), 'utf8'));

const facePass = {
  serialNo: 41,
  dateTime: '2026-12-07T07:32:10+08:00',
  minor: 75,
  employeeNoString: 'XS1001',
  currTemperature: 36.6,
  mask: 'yes' as const,
};

describe('multipart reader', () => {
  it('reads the real alert stream and marks the cut-off part', () => {
    const parts = parseMultipart(alertStream, 'multipart/mixed; boundary=MIME_boundary');
    expect(parts).toHaveLength(4);
    expect(parts.slice(0, 3).every((p) => p.complete)).toBe(true);
    expect(parts[3].complete).toBe(false);
    expect(parts[0].contentType).toBe('application/json');
  });

  it('finds the boundary in the body when the header has none', () => {
    expect(sniffBoundary(alertStream)).toBe('MIME_boundary');
    expect(parseMultipart(alertStream, 'multipart/form-data')).toHaveLength(4);
  });

  it('prefers the body boundary when the declared one never occurs', () => {
    const { body } = hikvisionMultipart(hikvisionEventJson(facePass), { boundary: 'real' });
    expect(parseMultipart(body, 'multipart/form-data; boundary="other"')).toHaveLength(1);
  });

  it('reads a quoted boundary', () => {
    const { body } = hikvisionMultipart(hikvisionEventJson(facePass), { boundary: 'b 1' });
    const parts = parseMultipart(body, 'multipart/form-data; boundary="b 1"');
    expect(parts[0].name).toBe('event_log');
  });

  it('returns nothing without any boundary', () => {
    expect(parseMultipart(Buffer.from('{"a":1}'), 'multipart/form-data')).toEqual([]);
  });
});

describe('xml reader', () => {
  it('reads nested, repeated and namespaced elements', () => {
    const doc = parseXml('<?xml version="1.0"?><a:Root xmlns:a="x"><v>1</v><v>2</v><!-- c --><In><t>a&amp;b</t></In><e/></a:Root>');
    expect(doc).toEqual({ Root: { v: ['1', '2'], In: { t: 'a&b' }, e: '' } });
  });

  it('rejects an unclosed element', () => {
    expect(() => parseXml('<Root><v>1</v>')).toThrow(/not closed/);
  });
});

describe('hikvision events', () => {
  it('classifies verification minors and ignores door events', () => {
    expect(classifyEvent(5, 75)).toEqual({ result: 'pass', method: 'face' });
    expect(classifyEvent(5, 76)).toEqual({ result: 'fail', method: 'face' });
    expect(classifyEvent(5, 1)).toEqual({ result: 'pass', method: 'card' });
    expect(classifyEvent(5, 9)).toEqual({ result: 'fail', method: 'card' });
    expect(classifyEvent(5, 38)).toEqual({ result: 'pass', method: 'fingerprint' });
    expect(classifyEvent(5, 39)).toEqual({ result: 'fail', method: 'fingerprint' });
    expect(classifyEvent(5, 21)).toBeNull();
    expect(classifyEvent(5, 22)).toBeNull();
    expect(classifyEvent(3, 1029)).toBeNull();
    expect(classifyEvent(2, 1024)).toBeNull();
  });

  it('reads the real alert stream: three whole events, the cut-off one skipped', () => {
    const push = readTerminalPush(alertStream, 'multipart/mixed; boundary=MIME_boundary');
    expect(push.events.map((e) => e.serialNo)).toEqual([1, 16, 18]);
    expect(push.skipped).toEqual([{ name: null, reason: 'part cut off' }]);

    const face = push.events[2];
    expect(face.verification).toEqual({ result: 'pass', method: 'face' });
    expect(face.employeeNo).toBe('REDACTED_EMP');
    expect(face.mask).toBe('no');
    expect(face.occurredAt).toBe(Date.parse('2025-06-22T14:37:34Z'));
    expect(push.events[1].occurredAt).toBe(Date.parse('2025-06-22T02:35:56Z'));
    expect(push.events[0].verification).toBeNull();
  });

  it('reads the real AcsEvent search answer', () => {
    const events = extractEvents(acsSearch);
    expect(events).toHaveLength(20);
    const entries = events.filter((e) => e.verification !== null);
    expect(entries.map((e) => e.serialNo)).toEqual([19354, 19361, 19364, 19368]);
    expect(entries.every((e) => e.employeeNo === 'REDACTED_EMP')).toBe(true);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(20);
  });

  it('reads multipart with event_log and a picture', () => {
    const picture = tinyJpeg();
    const { body, contentType } = hikvisionMultipart(hikvisionEventJson(facePass), { picture });
    const push = readTerminalPush(body, contentType);
    expect(push.events).toHaveLength(1);
    expect(push.events[0]).toMatchObject({ employeeNo: 'XS1001', temperatureC: 36.6, mask: 'yes', serialNo: 41, abnormalTemperature: false });
    expect(push.picture?.equals(picture)).toBe(true);
  });

  it('reads a part named AccessControllerEvent', () => {
    const { body, contentType } = hikvisionMultipart(hikvisionEventJson(facePass), { partName: 'AccessControllerEvent' });
    expect(readTerminalPush(body, contentType).events[0].employeeNo).toBe('XS1001');
  });

  it('reads messy multipart: LF, stray boundary, wrong length, no closing boundary', () => {
    const { body, contentType } = hikvisionMultipart(hikvisionEventJson(facePass), { messy: true, picture: tinyJpeg() });
    const push = readTerminalPush(body, contentType);
    expect(push.events).toHaveLength(1);
    expect(push.events[0].employeeNo).toBe('XS1001');
  });

  it('keeps a whole picture that lacks its closing boundary', () => {
    const { body, contentType } = hikvisionMultipart(hikvisionEventJson(facePass), { messy: true, picture: tinyJpeg() });
    expect(readTerminalPush(body, contentType).picture?.equals(tinyJpeg())).toBe(true);
  });

  it('keeps the event when the body is cut off inside the picture', () => {
    const { body, contentType } = hikvisionMultipart(hikvisionEventJson(facePass), { picture: tinyJpeg(), truncateBy: 120 });
    const push = readTerminalPush(body, contentType);
    expect(push.events).toHaveLength(1);
    expect(push.picture).toBeNull();
    expect(push.skipped).toEqual([{ name: 'Picture', reason: 'picture cut off' }]);
  });

  it('drops an event cut off inside its JSON', () => {
    const { body, contentType } = hikvisionMultipart(hikvisionEventJson(facePass));
    const push = readTerminalPush(body.subarray(0, body.length - 60), contentType);
    expect(push.events).toHaveLength(0);
    expect(push.skipped).toHaveLength(1);
  });

  it('reads a bare JSON body', () => {
    const push = readTerminalPush(Buffer.from(JSON.stringify(hikvisionEventJson(facePass))), 'application/json');
    expect(push.events[0].eventId).toBe(`sn41@${Date.parse('2026-12-06T23:32:10Z')}`);
  });

  it('reads a bare XML body', () => {
    const push = readTerminalPush(Buffer.from(hikvisionEventXml({ ...facePass, currTemperature: 98.6, thermometryUnit: 'fahrenheit' })), 'application/xml');
    expect(push.events[0]).toMatchObject({ employeeNo: 'XS1001', temperatureC: 37, serialNo: 41, major: 5, minor: 75 });
  });

  it('converts Fahrenheit and reads times without an offset as Beijing time', () => {
    expect(toCelsius(99.5, 'fahrenheit')).toBe(37.5);
    expect(toCelsius(36.55, 'celsius')).toBe(36.6);
    expect(parseDeviceTime('2026-12-07T07:30:00')).toBe(Date.parse('2026-12-06T23:30:00Z'));
    expect(parseDeviceTime('garbage')).toBeNull();
  });

  it('reports a body that is neither JSON nor XML', () => {
    const push = readTerminalPush(Buffer.from('hello'), 'text/plain');
    expect(push.events).toEqual([]);
    expect(push.skipped[0].reason).toBe('neither JSON nor XML');
  });
});
