// Rules of a signed-in session, without DOM or network: the stored shape of the token pair,
// when to refresh it, what to do after winning the refresh lock (another tab may have rotated
// the pair meanwhile), and invite links (`/#invite=<code>`). Unit-tested with `node --test`.

export const SESSION_KEY = "im.session";
/** Refresh this long before the access token expires: a fifth of its life, 5 s to 60 s. */
const MARGIN_SHARE = 0.2;
const MIN_MARGIN_MS = 5_000;
const MAX_MARGIN_MS = 60_000;
/** A failed (network) refresh is tried again after this long, while the session lasts. */
export const RETRY_REFRESH_MS = 10_000;
const INVITE_CODE = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * A session from a grant of the server (sign-up, login or refresh):
 * {access_token, refresh_token, expires_in (s)} and the user it belongs to.
 */
export function sessionFromGrant(grant, user, nowMs) {
  const lifetime = Math.max(1, Number(grant.expires_in) || 0) * 1000;
  return {
    access_token: grant.access_token,
    refresh_token: grant.refresh_token,
    issued_at: nowMs,
    expires_at: nowMs + lifetime,
    user: { user_id: user.user_id, username: user.username, user_role: user.user_role },
  };
}

/** The session after a refresh: a new pair (the old refresh token is used up), same user. */
export function rotate(session, grant, nowMs) {
  return sessionFromGrant(grant, session.user, nowMs);
}

/** A stored session, or null when absent, damaged, or of the previous release (no refresh
 * token: its access token is refused anyway, so the person signs in again). */
export function parseSession(raw) {
  let value;
  try {
    value = JSON.parse(raw || "null");
  } catch {
    return null;
  }
  const ok =
    value &&
    typeof value.access_token === "string" &&
    typeof value.refresh_token === "string" &&
    Number.isFinite(value.expires_at) &&
    typeof value.user?.user_id === "string";
  if (!ok) return null;
  return { issued_at: value.expires_at - 60_000, ...value };
}

function margin(session) {
  const lifetime = Math.max(0, session.expires_at - (session.issued_at ?? session.expires_at));
  return Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, lifetime * MARGIN_SHARE));
}

/** Milliseconds from now until the access token should be refreshed (0: now). */
export function refreshDelay(session, nowMs) {
  return Math.max(0, session.expires_at - margin(session) - nowMs);
}

export const needsRefresh = (session, nowMs) => refreshDelay(session, nowMs) === 0;

/**
 * Inside the refresh lock: "adopt" the stored session when another tab already rotated the
 * pair this tab holds (presenting the used-up token again would end the whole session), else
 * "refresh" with ours; "gone" when the stored session was removed or belongs to someone else
 * (signed out, or another person signed in, in another tab).
 */
export function afterLock(held, stored, nowMs) {
  if (!stored || stored.user.user_id !== held.user.user_id) return "gone";
  if (stored.refresh_token !== held.refresh_token && !needsRefresh(stored, nowMs)) return "adopt";
  return "refresh";
}

/**
 * What a change of the stored session in another tab means here: "signed_out" (removed),
 * "switched" (another person), "adopt" (the same person's rotated pair), or "same".
 */
export function storageChange(held, stored) {
  if (!held) return stored ? "switched" : "same";
  if (!stored) return "signed_out";
  if (stored.user.user_id !== held.user.user_id) return "switched";
  return stored.refresh_token !== held.refresh_token ? "adopt" : "same";
}

/** The invite code in a location hash (`#invite=<code>`), or null. */
export function parseInviteHash(hash) {
  const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  const code = params.get("invite");
  return code && INVITE_CODE.test(code) ? code : null;
}

/** The link to share for an invite code, on this page's origin. */
export function inviteLink(code, origin) {
  return `${origin}/#invite=${encodeURIComponent(code)}`;
}

/** "doctor_signup" (sign up as a doctor with the code), "join" (a group), or null. */
export function inviteAction(preview) {
  if (!preview) return null;
  return preview.kind === "doctor" ? "doctor_signup" : "join";
}
