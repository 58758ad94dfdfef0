// An access token and how to get the next one (ACS's AzureCommunicationTokenCredential).

export interface TokenCredentialOptions {
  /** The current token (a JWT the service issued). */
  token?: string;
  /** Fetches a fresh token from the host's backend; called before expiry. */
  tokenRefresher?: () => Promise<string>;
}

/** Seconds left before expiry at which a refresh is due: a minute, or half a short token's life. */
function refreshLead(lifetimeSecs: number): number {
  return Math.min(60, lifetimeSecs / 2);
}

export class TokenCredential {
  private current?: string;
  private readonly refresher?: () => Promise<string>;

  constructor(options: TokenCredentialOptions | string) {
    const o = typeof options === "string" ? { token: options } : options;
    if (!o.token && !o.tokenRefresher) {
      throw new TypeError("a TokenCredential needs a token or a tokenRefresher");
    }
    this.current = o.token;
    this.refresher = o.tokenRefresher;
  }

  /** The token to use now: the current one while it is fresh, else a refreshed one. */
  async getToken(): Promise<string> {
    if (this.current && !this.due(this.current)) return this.current;
    return this.refresh();
  }

  /** Gets a new token from the refresher (keeps the old one when there is none). */
  async refresh(): Promise<string> {
    if (!this.refresher) {
      if (this.current) return this.current;
      throw new Error("no token and no tokenRefresher");
    }
    const t = await this.refresher();
    if (typeof t !== "string" || t.split(".").length !== 3) {
      throw new TypeError("the tokenRefresher returned something that is not a JWT");
    }
    this.current = t;
    return t;
  }

  /** Milliseconds until a refresh of the current token is due (undefined: no expiry known). */
  msUntilRefresh(): number | undefined {
    const c = this.current && claims(this.current);
    if (!c) return undefined;
    const life = c.exp - c.iat;
    return Math.max(0, (c.exp - refreshLead(life)) * 1000 - Date.now());
  }

  get canRefresh(): boolean {
    return this.refresher !== undefined;
  }

  private due(token: string): boolean {
    const c = claims(token);
    if (!c) return false;
    return Date.now() / 1000 >= c.exp - refreshLead(c.exp - c.iat);
  }
}

/** The `exp`/`iat`/`sub` of a JWT (unverified: the service verifies it). */
export function claims(token: string): { exp: number; iat: number; sub: string } | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const v = JSON.parse(json);
    if (typeof v.exp !== "number") return undefined;
    return { exp: v.exp, iat: typeof v.iat === "number" ? v.iat : v.exp, sub: String(v.sub ?? "") };
  } catch {
    return undefined;
  }
}
