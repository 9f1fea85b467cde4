import { describe, expect, it } from 'vitest';
import { addressKey, busLineLabel, checkBusPlate, normalizeBusLine } from '../../src/modules/venues/bus-fields.js';

describe('bus line normalisation', () => {
  it.each([
    ['K101路', 'K101'],
    ['k101', 'K101'],
    ['K101', 'K101'],
    [' K101 路 ', 'K101'],
    ['Ｋ１０１路', 'K101'],
    ['B支1线', 'B支1'],
    ['夜12', '夜12'],
  ])('reads %j as %j', (typed, stored) => {
    expect(normalizeBusLine(typed)).toBe(stored);
  });

  it('drops only one trailing 路', () => {
    expect(normalizeBusLine('K101路路')).toBe('K101路');
  });

  it('leaves nothing of a bare 路', () => {
    expect(normalizeBusLine('路')).toBe('');
  });

  it('adds 路 once for display', () => {
    expect(busLineLabel(normalizeBusLine('K101路'))).toBe('K101路');
  });
});

describe('bus plate check', () => {
  it.each([
    ['浙A·10101', '浙A·10101'],
    ['浙A10101', '浙A10101'],
    ['浙a-10101', '浙A-10101'],
    ['浙A 101 01', '浙A 101 01'],
    ['浙A.1010B', '浙A.1010B'],
    ['浙AD12345', '浙AD12345'],
    ['浙A·12345D', '浙A·12345D'],
    ['浙Ａ·１０１０１', '浙A·10101'],
  ])('accepts %j as %j', (typed, stored) => {
    expect(checkBusPlate(typed)).toBe(stored);
  });

  it.each(['ABC', '浙A·1', '浙A·1234567', 'A浙·10101', '浙1·10101', '台A·10101', '浙A_10101', '浙A·1010中'])('rejects %j', (typed) => {
    expect(() => checkBusPlate(typed)).toThrow(`车牌号“${typed}”格式不对`);
  });

  it('gives an example in the message', () => {
    expect(() => checkBusPlate('ABC')).toThrow('例如 浙A·10101');
  });
});

describe('address comparison key', () => {
  it('ignores spaces and full-width digits', () => {
    expect(addressKey('城东路 18 号')).toBe(addressKey('城东路18号'));
    expect(addressKey('城东路１８号')).toBe(addressKey('城东路18号'));
    expect(addressKey('城东路\u300018号')).toBe(addressKey('城东路18号'));
  });

  it('keeps a district prefix apart', () => {
    expect(addressKey('示范区城东路18号')).not.toBe(addressKey('城东路 18 号'));
  });
});
