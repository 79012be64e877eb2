"""Development code that no worker imports: the demo, its review site, benchmarks, tuning."""
