// The backer's session. The access token lives only in memory; the refresh token is an
// HttpOnly cookie that scripts cannot read (`refresh_token_transport: "cookie"`), sent by the
// browser to /api/v1/auth/refresh and /api/v1/auth/logout only.

import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./api";

export type Session = components["schemas"]["SessionResponse"];
export type User = components["schemas"]["UserResponse"];

/** Refresh this long before the access token expires: 5 s, or a quarter of a short lifetime. */
const margin = (lifetime: number) => Math.min(5, lifetime / 4);

export class Api {
  readonly client;
  private accessToken: string | null = null;
  private expiresAt = 0;
  private lifetime = 0;
  private refreshing: Promise<boolean> | null = null;
  user: User | null = null;
  /** How many times the session was renewed with the cookie (shown for the curious). */
  refreshes = 0;

  constructor(baseUrl: string) {
    // `credentials: "include"` lets the browser send and store the refresh cookie cross-origin.
    this.client = createClient<paths>({ baseUrl, credentials: "include" });
    const auth: Middleware = {
      onRequest: ({ request }) => {
        if (this.accessToken && !request.url.includes("/api/v1/auth/")) {
          request.headers.set("Authorization", `Bearer ${this.accessToken}`);
        }
        return request;
      },
    };
    this.client.use(auth);
  }

  get loggedIn(): boolean {
    return this.user !== null;
  }

  private start(session: Session): void {
    this.accessToken = session.access_token;
    this.lifetime = session.expires_in;
    this.expiresAt = Date.now() / 1000 + session.expires_in;
    this.user = session.user;
  }

  forget(): void {
    this.accessToken = null;
    this.expiresAt = 0;
    this.user = null;
  }

  async register(email: string, password: string, displayName: string) {
    const result = await this.client.POST("/api/v1/auth/register", {
      body: { email, password, display_name: displayName, refresh_token_transport: "cookie" },
    });
    if (result.data) this.start(result.data);
    return result;
  }

  async login(email: string, password: string) {
    const result = await this.client.POST("/api/v1/auth/login", {
      body: { email, password, refresh_token_transport: "cookie" },
    });
    if (result.data) this.start(result.data);
    return result;
  }

  async logout(): Promise<void> {
    await this.client.POST("/api/v1/auth/logout", { body: {} });
    this.forget();
  }

  /** Renews the session with the cookie; one refresh at a time (a reused token ends the session). */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const { data } = await this.client.POST("/api/v1/auth/refresh", { body: {} });
        if (!data) {
          this.forget();
          return false;
        }
        this.start(data);
        this.refreshes += 1;
        return true;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Makes sure the access token is valid for a moment longer, renewing it if needed. */
  async fresh(): Promise<boolean> {
    if (this.accessToken && Date.now() / 1000 < this.expiresAt - margin(this.lifetime)) return true;
    return this.refresh();
  }

  /** Runs an authenticated call; on a 401 renews the session once and tries again. */
  async authed<T extends { response: Response }>(call: () => Promise<T>): Promise<T> {
    await this.fresh();
    const first = await call();
    if (first.response.status !== 401 || !(await this.refresh())) return first;
    return call();
  }
}
