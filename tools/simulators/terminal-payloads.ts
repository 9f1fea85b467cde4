/**
 * Payloads as Hikvision face-temperature terminals push them in ISAPI listening mode:
 * the EventNotificationAlert JSON (or XML) with an AccessControllerEvent inside, sent as
 * multipart/form-data with the JSON in a part named `event_log` and an optional JPEG.
 * Field names, including the firmware's `isAbnomalTemperature`, are the terminals' own.
 */

export interface HikvisionEventOptions {
  serialNo: number;
  /** ISO-8601 with offset, as terminals send it: 2026-12-07T07:32:10+08:00. */
  dateTime: string;
  /** 5 for access events; other majors are alarms, exceptions and operations. */
  major?: number;
  /** 75 face passed, 76 face failed, 1 card passed, 9 no such card, 21 lock opened, ... */
  minor?: number;
  employeeNoString?: string;
  cardNo?: string;
  currTemperature?: number;
  thermometryUnit?: 'celsius' | 'fahrenheit';
  isAbnomalTemperature?: boolean;
  mask?: 'yes' | 'no' | 'unknown';
  deviceName?: string;
}

/** Build the JSON document of one access event. */
export function hikvisionEventJson(options: HikvisionEventOptions): Record<string, unknown> {
  const event: Record<string, unknown> = {
    deviceName: options.deviceName ?? 'FaceTerminal',
    majorEventType: options.major ?? 5,
    subEventType: options.minor ?? 75,
    cardReaderNo: 1,
    verifyNo: options.serialNo + 100,
    serialNo: options.serialNo,
    userType: 'normal',
    currentVerifyMode: 'cardOrFace',
    frontSerialNo: options.serialNo - 1,
    attendanceStatus: 'undefined',
    mask: options.mask ?? 'no',
  };
  if (options.employeeNoString !== undefined) event.employeeNoString = options.employeeNoString;
  if (options.cardNo !== undefined) event.cardNo = options.cardNo;
  if (options.currTemperature !== undefined) {
    event.currTemperature = options.currTemperature;
    event.thermometryUnit = options.thermometryUnit ?? 'celsius';
    event.isAbnomalTemperature = options.isAbnomalTemperature ?? false;
  }
  return {
    ipAddress: '127.0.0.1',
    portNo: 80,
    protocol: 'HTTP',
    macAddress: '00:00:5e:00:53:01',
    channelID: 1,
    dateTime: options.dateTime,
    activePostCount: 1,
    eventType: 'AccessControllerEvent',
    eventState: 'active',
    eventDescription: 'Access Controller Event',
    AccessControllerEvent: event,
  };
}

/** Build the same event as the XML EventNotificationAlert that older firmware sends. */
export function hikvisionEventXml(options: HikvisionEventOptions): string {
  const document = hikvisionEventJson(options);
  const inner = document.AccessControllerEvent as Record<string, unknown>;
  const fields = (record: Record<string, unknown>) =>
    Object.entries(record)
      .filter(([, value]) => typeof value !== 'object')
      .map(([key, value]) => `<${key}>${String(value)}</${key}>`)
      .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
    fields(document) +
    `<AccessControllerEvent>${fields(inner)}</AccessControllerEvent>` +
    '</EventNotificationAlert>'
  );
}

export interface MultipartOptions {
  /** Name of the JSON part: `event_log` (most firmware) or `AccessControllerEvent`. */
  partName?: string;
  boundary?: string;
  picture?: Buffer;
  /**
   * Reproduce what real terminals get wrong: a wrong Content-Length, LF line ends,
   * a doubled boundary with an empty part, and no closing boundary.
   */
  messy?: boolean;
  /** Cut the body off this many bytes before its end (inside the picture). */
  truncateBy?: number;
}

/** Build a multipart/form-data body and its Content-Type header. */
export function hikvisionMultipart(eventJson: unknown, options: MultipartOptions = {}): { body: Buffer; contentType: string } {
  const boundary = options.boundary ?? 'MIME_boundary';
  const name = options.partName ?? 'event_log';
  const json = Buffer.from(JSON.stringify(eventJson, null, '\t'));
  const eol = options.messy ? '\n' : '\r\n';
  const chunks: Buffer[] = [];

  if (options.messy) chunks.push(Buffer.from(`--${boundary}${eol}${eol}--${boundary}${eol}`));
  else chunks.push(Buffer.from(`--${boundary}${eol}`));
  const declaredLength = options.messy ? json.length + 3 : json.length;
  chunks.push(Buffer.from(`Content-Disposition: form-data; name="${name}"${eol}Content-Type: application/json${eol}Content-Length: ${declaredLength}${eol}${eol}`));
  chunks.push(json);

  if (options.picture) {
    chunks.push(Buffer.from(`${eol}--${boundary}${eol}`));
    chunks.push(Buffer.from(`Content-Disposition: form-data; name="Picture"; filename="Picture.jpg"${eol}Content-Type: image/jpeg${eol}Content-Length: ${options.picture.length}${eol}${eol}`));
    chunks.push(options.picture);
  }
  if (!options.messy) chunks.push(Buffer.from(`${eol}--${boundary}--${eol}`));

  let body = Buffer.concat(chunks);
  if (options.truncateBy) body = body.subarray(0, Math.max(0, body.length - options.truncateBy));
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Return a small valid JPEG (a grey 8x8 image) for snapshot tests and the simulator,
 * stored as bytes so no image file is needed.
 */
export function tinyJpeg(): Buffer {
  return Buffer.from(
    'ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080008000801011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbfcffd9',
    'hex',
  );
}
