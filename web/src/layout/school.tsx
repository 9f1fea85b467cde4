import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { useRoute } from '../api/routes';
import { useUser } from '../auth/session';

export interface SchoolOption {
  code: string;
  name: string;
}

interface SchoolValue {
  /** The school the pages show: the user's own, or the district admin's pick. */
  school: SchoolOption | null;
  /** Schools a district admin can pick from; empty for school roles or when the list API is missing. */
  choices: SchoolOption[];
  setSchoolCode(code: string): void;
}

const SchoolContext = createContext<SchoolValue>({ school: null, choices: [], setSchoolCode: () => {} });

const STORAGE_KEY = 'fangkong.school';

/** Read the schools list, whatever envelope the people API wraps it in. */
function toSchoolOptions(reply: unknown): SchoolOption[] {
  const list = Array.isArray(reply) ? reply : ((reply as { schools?: unknown[] })?.schools ?? []);
  return list
    .map((item) => item as { code?: string; name?: string })
    .filter((item): item is SchoolOption => typeof item.code === 'string' && typeof item.name === 'string');
}

export function SchoolProvider({ children }: { children: ReactNode }) {
  const user = useUser();
  const isDistrict = user.role === 'district_admin';
  const listRoute = useRoute('GET /api/schools');
  const schools = useQuery({
    queryKey: ['schools'],
    queryFn: async () => toSchoolOptions(await api<unknown>('/api/schools')),
    enabled: isDistrict && listRoute.path !== undefined,
  });
  const [picked, setPicked] = useState<string | null>(() => localStorage.getItem(STORAGE_KEY));

  const choices = isDistrict ? (schools.data ?? []) : [];
  useEffect(() => {
    if (!isDistrict || choices.length === 0 || choices.some((s) => s.code === picked)) return;
    // Nothing stored yet (or a school no longer listed): show the first school and store it
    // like a pick. The list is sorted by code, so a school added later can sort first, and
    // an unstored default would change to it on the next load or in a new tab.
    localStorage.setItem(STORAGE_KEY, choices[0].code);
    setPicked(choices[0].code);
  }, [isDistrict, choices, picked]);

  let school: SchoolOption | null = null;
  if (!isDistrict && user.schoolCode) school = { code: user.schoolCode, name: user.schoolName ?? user.schoolCode };
  if (isDistrict) school = choices.find((s) => s.code === picked) ?? null;

  const setSchoolCode = (code: string) => {
    localStorage.setItem(STORAGE_KEY, code);
    setPicked(code);
  };
  return <SchoolContext.Provider value={{ school, choices, setSchoolCode }}>{children}</SchoolContext.Provider>;
}

export function useSchool(): SchoolValue {
  return useContext(SchoolContext);
}
