import { Card, Empty } from 'antd';
import { useRoute } from '../api/routes';
import { useUser } from '../auth/session';
import { Loading, NotOpen, PageTitle } from './common';

/**
 * Shown in place of a school page when no school is chosen: a district admin picks one
 * in the header, which needs the schools list API.
 */
export function NeedSchool({ title }: { title: string }) {
  const user = useUser();
  const listRoute = useRoute('GET /api/schools');
  if (listRoute.isLoading) return <Loading />;
  return (
    <>
      <PageTitle title={title} />
      {user.role === 'district_admin' && !listRoute.path ? (
        <NotOpen />
      ) : (
        <Card>
          <Empty description={user.role === 'district_admin' ? '请先在顶部选择学校' : '账号未关联学校，请联系管理员'} />
        </Card>
      )}
    </>
  );
}
