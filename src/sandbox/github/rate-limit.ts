const LIMIT = 5000;
const WINDOW_SECONDS = 3600;

export interface RateLimitState {
  readonly limit: number;
  readonly remaining: number;
  readonly used: number;
  /** Epoch seconds at which the window resets. */
  readonly reset: number;
}

/** GitHub's primary rate limit for the one token: 5,000 requests an hour, 304s free. */
export class RateLimiter {
  private used = 0;
  private windowEnds: number;

  constructor(private readonly now: () => number) {
    this.windowEnds = Math.floor(now() / 1000) + WINDOW_SECONDS;
  }

  private roll(): void {
    const nowSeconds = Math.floor(this.now() / 1000);
    if (nowSeconds >= this.windowEnds) {
      this.used = 0;
      this.windowEnds = nowSeconds + WINDOW_SECONDS;
    }
  }

  exhausted(): boolean {
    this.roll();
    return this.used >= LIMIT;
  }

  charge(): void {
    this.roll();
    this.used = Math.min(LIMIT, this.used + 1);
  }

  state(): RateLimitState {
    this.roll();
    return { limit: LIMIT, remaining: LIMIT - this.used, used: this.used, reset: this.windowEnds };
  }

  headers(overrides: Partial<RateLimitState> = {}): Record<string, string> {
    const state = { ...this.state(), ...overrides };
    return {
      'x-ratelimit-limit': String(state.limit),
      'x-ratelimit-remaining': String(state.remaining),
      'x-ratelimit-reset': String(state.reset),
      'x-ratelimit-used': String(state.used),
      'x-ratelimit-resource': 'core',
    };
  }
}
