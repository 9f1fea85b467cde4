// Load generator for bench/venue-checkin.ts, run as a child process so autocannon has an
// event loop (and a core) of its own. It receives { url, paths, bodies, connections,
// duration } as its first message, posts a random body of `bodies` to a random path of
// `paths` (random, so a person and a venue rarely meet twice within the duplicate
// window), and sends back the figures.
import autocannon from 'autocannon';

process.once('message', async ({ url, paths, bodies, connections, duration }) => {
  try {
    const result = await autocannon({
      url,
      connections,
      duration,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          setupRequest: (request) => ({
            ...request,
            path: paths[Math.floor(Math.random() * paths.length)],
            body: bodies[Math.floor(Math.random() * bodies.length)],
          }),
        },
      ],
    });
    process.send({ rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors }, () => process.exit(0));
  } catch (error) {
    process.send({ error: String(error) }, () => process.exit(1));
  }
});
