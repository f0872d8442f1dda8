// REST calls (SPEC §5, §10, §11). Every failure becomes an ApiError carrying the server's
// envelope ({status, code, details}); the views word it with i18n's errorText, in the person's
// language. An upload with `upload: {onProgress, signal}` goes by XMLHttpRequest (upload.js),
// which reports its progress and can be cancelled. Signed-in calls take a fresh access token
// from auth (refreshed first when spent); a 401 TOKEN_EXPIRED refreshes once and tries again;
// any other 401 ends the session.

import { sendWithProgress } from "./upload.js";

export class ApiError extends Error {
  constructor(status, code, message = "", details = null, retryAfter = null) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retry_after = retryAfter;
  }
}

const enc = encodeURIComponent;

function answerError(status, data, retryAfter) {
  const error = data?.error;
  return new ApiError(status, error?.code || "HTTP_ERROR", error?.message || "", error?.details ?? null, retryAfter);
}

/** A call by XMLHttpRequest, for its upload progress; cancelling rejects with UploadCancelled. */
async function callWithProgress(method, url, headers, body, { onProgress, signal }) {
  let answer;
  try {
    answer = await sendWithProgress({ XHR: XMLHttpRequest, method, url: url.href, headers, body, onProgress, signal });
  } catch (failure) {
    if (failure.cancelled) throw failure;
    throw new ApiError(0, "NETWORK_ERROR");
  }
  if (answer.status === 204) return null;
  if (answer.status >= 200 && answer.status < 300) return answer.data;
  throw answerError(answer.status, answer.data, answer.retryAfter);
}

export function createApi({ auth, onUnauthorized }) {
  async function call(method, path, { body, query, token, upload }) {
    const url = new URL(`/api${path}`, location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    // A FormData body (an upload) sets its own multipart Content-Type.
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    if (upload) return callWithProgress(method, url, headers, body, upload);
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        cache: "no-store",
        body: body === undefined || form ? body : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "NETWORK_ERROR");
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.ok) return data;
    throw answerError(response.status, data, Number(response.headers.get("Retry-After")) || null);
  }

  /** A call as the signed-in person (or anonymous with `anonymous: true`). */
  async function request(method, path, { body, query, anonymous = false, upload } = {}) {
    if (anonymous) return call(method, path, { body, query, upload });
    const token = await auth.fresh();
    try {
      return await call(method, path, { body, query, token, upload });
    } catch (failure) {
      if (failure.status !== 401 || !token) throw failure;
      if (failure.code === "TOKEN_EXPIRED") {
        const outcome = await auth.refresh();
        if (outcome === "ok") return call(method, path, { body, query, token: auth.token(), upload });
        if (outcome === "failed") throw new ApiError(0, "NETWORK_ERROR");
        failure.handled = true; // auth ended the session and said why
        throw failure;
      }
      failure.handled = true; // the sign-out tells the person; callers need not repeat it
      onUnauthorized(failure);
      throw failure;
    }
  }

  const get = (path, query) => request("GET", path, { query });
  const post = (path, body) => request("POST", path, { body });

  return {
    // accounts (SPEC §10)
    signUp: (fields) => request("POST", "/user/create", { body: fields, anonymous: true }),
    login: (login, password) =>
      request("POST", "/auth/login", { body: { login, password }, anonymous: true }),
    refresh: (refresh_token) =>
      request("POST", "/auth/refresh", { body: { refresh_token }, anonymous: true }),
    logout: () => post("/auth/logout"),
    sessions: () => get("/auth/sessions"),
    endSession: (sessionId) => request("DELETE", `/auth/sessions/${enc(sessionId)}`),
    me: () => get("/user/me"),
    updateMe: (changes) => request("PATCH", "/user/me", { body: changes }),
    changePassword: (current_password, new_password) =>
      request("PUT", "/user/me/password", { body: { current_password, new_password } }),
    getUser: (userId) => get(`/user/${enc(userId)}`),
    // invites
    previewInvite: (code) => request("GET", `/invites/${enc(code)}`, { anonymous: true }),
    acceptInvite: (code) => post(`/invites/${enc(code)}/accept`),
    groupInvites: (groupId) => get(`/group/${enc(groupId)}/invites`),
    createGroupInvite: (groupId, fields) => post(`/group/${enc(groupId)}/invites`, fields),
    createDoctorInvite: () => post("/invites", { kind: "doctor" }),
    revokeInvite: (code) => request("DELETE", `/invites/${enc(code)}`),
    // groups
    listGroups: () => get("/group/list"),
    getGroup: (groupId) => get(`/group/${enc(groupId)}`),
    createGroup: (group_name, description) =>
      post("/group/create", { group_name, description: description || null }),
    updateGroup: (groupId, changes) =>
      request("PATCH", `/group/${enc(groupId)}`, { body: changes }),
    members: (groupId) => get(`/group/${enc(groupId)}/members`),
    addMember: (groupId, user_id) => post(`/group/${enc(groupId)}/members`, { user_id }),
    removeMember: (groupId, userId) =>
      request("DELETE", `/group/${enc(groupId)}/members/${enc(userId)}`),
    // messages (SPEC §5, §11)
    latestMessages: (group_id, page_size = 50) =>
      get("/message/list", { group_id, page: 1, page_size }),
    messagesBefore: (group_id, before_seq, limit = 50) => {
      if (!Number.isInteger(before_seq) || before_seq < 1) {
        throw new RangeError(`before_seq must be a positive integer, not ${before_seq}`);
      }
      return get("/message/list", { group_id, before_seq, limit });
    },
    messagesAfter: (group_id, after_seq, limit = 200) =>
      get("/message/list", { group_id, after_seq, limit }),
    getMessage: (messageId) => get(`/message/${enc(messageId)}`),
    editMessage: (messageId, content) =>
      request("PATCH", `/message/${enc(messageId)}`, { body: { content } }),
    recallMessage: (messageId) => post(`/message/${enc(messageId)}/recall`),
    // attachments (SPEC §12): upload, then send with its attachment_id; with {onProgress,
    // signal} the upload reports its progress and can be cancelled (SPEC §16)
    uploadAttachment: (group_id, file, upload = undefined) => {
      const form = new FormData();
      form.append("group_id", group_id);
      form.append("file", file, file.name);
      return request("POST", "/attachments", { body: form, upload });
    },
    aiInteractions: (group_id, page = 1, page_size = 20) =>
      get("/ai/interactions", { group_id, page, page_size }),
    askCopilot: (what, group_id) => post(`/ai/${what}`, { group_id }),
    copilotRecords: (group_id) => get("/ai/copilot", { group_id }),
    // Web Push (SPEC §13)
    pushPublicKey: () => get("/push/public-key"),
    pushSubscribe: (subscription) => post("/push/subscriptions", subscription),
    pushUnsubscribe: (endpoint) => request("DELETE", "/push/subscriptions", { body: { endpoint } }),
  };
}
