/**
 * Diagnoses a follow-up can record: the notifiable infectious diseases of the Law of the
 * People's Republic of China on the Prevention and Control of Infectious Diseases (class
 * A, B and C, as adjusted by the National Health Commission's announcements, including
 * COVID-19 managed as class B from 2023-01-08 and mpox as class B from 2023-09-20), then
 * two conditions schools report although they are not notifiable nationally, then 其他.
 *
 * NOTE: the list follows the announcements up to 2023; check it against the current
 * National Health Commission list before relying on it for reporting.
 */
export interface Diagnosis {
  code: string;
  /** Chinese name shown on screens and in exports. */
  name: string;
  /** 甲类, 乙类, 丙类, or 学校常见 for the non-notifiable ones, 其他 for other. */
  category: '甲类' | '乙类' | '丙类' | '学校常见' | '其他';
}

export const OTHER_DIAGNOSIS = 'other';

export const DIAGNOSES: readonly Diagnosis[] = [
  { code: 'plague', name: '鼠疫', category: '甲类' },
  { code: 'cholera', name: '霍乱', category: '甲类' },

  { code: 'covid19', name: '新型冠状病毒感染', category: '乙类' },
  { code: 'sars', name: '传染性非典型肺炎', category: '乙类' },
  { code: 'hiv', name: '艾滋病', category: '乙类' },
  { code: 'hepatitis_a', name: '甲型肝炎', category: '乙类' },
  { code: 'hepatitis_b', name: '乙型肝炎', category: '乙类' },
  { code: 'hepatitis_c', name: '丙型肝炎', category: '乙类' },
  { code: 'hepatitis_e', name: '戊型肝炎', category: '乙类' },
  { code: 'hepatitis_other', name: '其他病毒性肝炎', category: '乙类' },
  { code: 'polio', name: '脊髓灰质炎', category: '乙类' },
  { code: 'avian_flu_hpai', name: '人感染高致病性禽流感', category: '乙类' },
  { code: 'avian_flu_h7n9', name: '人感染H7N9禽流感', category: '乙类' },
  { code: 'measles', name: '麻疹', category: '乙类' },
  { code: 'hfrs', name: '流行性出血热', category: '乙类' },
  { code: 'rabies', name: '狂犬病', category: '乙类' },
  { code: 'japanese_encephalitis', name: '流行性乙型脑炎', category: '乙类' },
  { code: 'dengue', name: '登革热', category: '乙类' },
  { code: 'anthrax', name: '炭疽', category: '乙类' },
  { code: 'dysentery', name: '细菌性和阿米巴性痢疾', category: '乙类' },
  { code: 'tuberculosis', name: '肺结核', category: '乙类' },
  { code: 'typhoid', name: '伤寒和副伤寒', category: '乙类' },
  { code: 'meningococcal', name: '流行性脑脊髓膜炎', category: '乙类' },
  { code: 'pertussis', name: '百日咳', category: '乙类' },
  { code: 'diphtheria', name: '白喉', category: '乙类' },
  { code: 'neonatal_tetanus', name: '新生儿破伤风', category: '乙类' },
  { code: 'scarlet_fever', name: '猩红热', category: '乙类' },
  { code: 'brucellosis', name: '布鲁氏菌病', category: '乙类' },
  { code: 'gonorrhea', name: '淋病', category: '乙类' },
  { code: 'syphilis', name: '梅毒', category: '乙类' },
  { code: 'leptospirosis', name: '钩端螺旋体病', category: '乙类' },
  { code: 'schistosomiasis', name: '血吸虫病', category: '乙类' },
  { code: 'malaria', name: '疟疾', category: '乙类' },
  { code: 'mpox', name: '猴痘', category: '乙类' },

  { code: 'influenza', name: '流行性感冒', category: '丙类' },
  { code: 'mumps', name: '流行性腮腺炎', category: '丙类' },
  { code: 'rubella', name: '风疹', category: '丙类' },
  { code: 'acute_hemorrhagic_conjunctivitis', name: '急性出血性结膜炎（流行性出血性结膜炎）', category: '丙类' },
  { code: 'leprosy', name: '麻风病', category: '丙类' },
  { code: 'typhus', name: '流行性和地方性斑疹伤寒', category: '丙类' },
  { code: 'kala_azar', name: '黑热病', category: '丙类' },
  { code: 'echinococcosis', name: '包虫病', category: '丙类' },
  { code: 'filariasis', name: '丝虫病', category: '丙类' },
  { code: 'infectious_diarrhoea', name: '其他感染性腹泻病', category: '丙类' },
  { code: 'hfmd', name: '手足口病', category: '丙类' },

  { code: 'varicella', name: '水痘', category: '学校常见' },
  { code: 'norovirus', name: '诺如病毒感染（感染性腹泻）', category: '学校常见' },

  { code: OTHER_DIAGNOSIS, name: '其他', category: '其他' },
];

const BY_CODE = new Map(DIAGNOSES.map((d) => [d.code, d]));

export function findDiagnosis(code: string): Diagnosis | undefined {
  return BY_CODE.get(code);
}

/** The Chinese name of a diagnosis code, or the code itself when it is not on the list. */
export function diagnosisName(code: string): string {
  return BY_CODE.get(code)?.name ?? code;
}
