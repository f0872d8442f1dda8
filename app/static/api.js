// REST calls (SPEC §5). Every failure becomes an ApiError carrying the server's envelope
// ({status, code, details}); the views word it with i18n's errorText, in the person's language.

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

export function createApi({ getToken, onUnauthorized }) {
  async function request(method, path, { body, query } = {}) {
    const url = new URL(`/api${path}`, location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
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
    const error = data?.error;
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    const failure = new ApiError(
      response.status,
      error?.code || "HTTP_ERROR",
      error?.message || "",
      error?.details ?? null,
      retryAfter,
    );
    if (response.status === 401 && token) {
      failure.handled = true; // the sign-out tells the person; callers need not repeat it
      onUnauthorized(failure);
    }
    throw failure;
  }

  return {
    createUser: (username, user_role) =>
      request("POST", "/user/create", { body: { username, user_role } }),
    me: () => request("GET", "/user/me"),
    getUser: (userId) => request("GET", `/user/${encodeURIComponent(userId)}`),
    listGroups: () => request("GET", "/group/list"),
    createGroup: (group_name, description) =>
      request("POST", "/group/create", { body: { group_name, description: description || null } }),
    updateGroup: (groupId, changes) =>
      request("PATCH", `/group/${encodeURIComponent(groupId)}`, { body: changes }),
    members: (groupId) => request("GET", `/group/${encodeURIComponent(groupId)}/members`),
    addMember: (groupId, user_id) =>
      request("POST", `/group/${encodeURIComponent(groupId)}/members`, { body: { user_id } }),
    removeMember: (groupId, userId) =>
      request(
        "DELETE",
        `/group/${encodeURIComponent(groupId)}/members/${encodeURIComponent(userId)}`,
      ),
    latestMessages: (group_id, page_size = 50) =>
      request("GET", "/message/list", { query: { group_id, page: 1, page_size } }),
    messagesBefore: (group_id, before_seq, limit = 50) => {
      if (!Number.isInteger(before_seq) || before_seq < 1) {
        throw new RangeError(`before_seq must be a positive integer, not ${before_seq}`);
      }
      return request("GET", "/message/list", { query: { group_id, before_seq, limit } });
    },
    messagesAfter: (group_id, after_seq, limit = 200) =>
      request("GET", "/message/list", { query: { group_id, after_seq, limit } }),
    aiInteractions: (group_id, page = 1, page_size = 20) =>
      request("GET", "/ai/interactions", { query: { group_id, page, page_size } }),
  };
}
