import { lazy, Suspense } from 'react';
import type { EChartsOption } from 'echarts';

// ECharts and zrender are about 2 MB of source, the largest part of the console's script.
// Loaded on their own, they download and parse while the page waits for its data.
const loadEChart = () => import('./EChart');
const EChart = lazy(loadEChart);

/** Start loading ECharts now, so a page that will draw charts has it by the time its data arrives. */
export function preloadCharts(): void {
  void loadEChart();
}

/** Render a chart of the given height, with an empty box of that height while ECharts loads. */
export function Chart(props: { option: EChartsOption; height?: number; label: string }) {
  return (
    <Suspense fallback={<div role="img" aria-label={props.label} aria-busy style={{ height: props.height ?? 260, width: '100%' }} />}>
      <EChart {...props} />
    </Suspense>
  );
}
