// Load generator for bench/venue-checkin.ts, run as a child process so autocannon has an
// event loop (and a core) of its own. It receives { url, paths, bodies, connections,
// duration } as its first message, posts JSON to paths[n % ...] with bodies[n % ...],
// and sends back the figures.
import autocannon from 'autocannon';

process.once('message', async ({ url, paths, bodies, connections, duration }) => {
  let n = 0;
  try {
    const result = await autocannon({
      url,
      connections,
      duration,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          setupRequest: (request) => {
            n += 1;
            return { ...request, path: paths[(n * 104729) % paths.length], body: bodies[(n * 7919) % bodies.length] };
          },
        },
      ],
    });
    process.send({ rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors }, () => process.exit(0));
  } catch (error) {
    process.send({ error: String(error) }, () => process.exit(1));
  }
});
