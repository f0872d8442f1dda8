// Account actions (SPEC §10): sign up with a login and a password (a doctor with an invite
// code), sign in, sign out (the server ends the session), my sessions, my name, my password.
// Tokens are handed to auth.js by the controller's `enterWithGrant`; nothing here keeps one.

/** The fields of a sign-up form as the server takes them (login lower-cased by the server). */
export function signUpBody({ username, login, password, role, inviteCode }) {
  const body = { username: username.trim(), user_role: role, login: login.trim(), password };
  if (inviteCode) body.invite_code = inviteCode.trim();
  return body;
}

export function createAccountActions({ store, api, enterWithGrant, signOut }) {
  async function signUp(fields) {
    const created = await api.signUp(signUpBody(fields));
    const { access_token: _a, refresh_token: _r, token_type: _t, expires_in: _e, ...user } = created;
    await enterWithGrant(created, user);
  }

  async function signIn(login, password) {
    const answer = await api.login(login.trim(), password);
    await enterWithGrant(answer, answer.user);
  }

  /** End this session on the server, then forget it here (even if the server is away). */
  async function logOut() {
    try {
      await api.logout();
    } catch {
      // Unreachable or already ended: the tokens are forgotten here all the same.
    }
    signOut();
  }

  async function rename(username) {
    const user = await api.updateMe({ username: username.trim() });
    store.updateSessionUser(user);
    return user;
  }

  const changePassword = (current, next) => api.changePassword(current, next);
  const listSessions = () => api.sessions();
  const endSession = (sessionId) => api.endSession(sessionId);

  return {
    signUp,
    signIn,
    logOut,
    rename,
    changePassword,
    listSessions,
    endSession,
  };
}
