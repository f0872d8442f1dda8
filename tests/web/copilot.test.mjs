// Unit tests of the client's copilot state (app/static/copilot.js): records merged from the
// listing, the request's answer and the streamed events in any order; "Use" fills the composer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createCopilotActions } from "../../app/static/copilot.js";
import { createStore, memoryStorage } from "../../app/static/store.js";

const DOCTOR = { user_id: "user_doc", username: "Dr Li", user_role: "DOCTOR" };

function setUp(listing = []) {
  const store = createStore({ storage: memoryStorage() });
  store.startSession({ token: "t", user: DOCTOR });
  const asked = [];
  const api = {
    copilotRecords: async (groupId) => ({ records: listing.filter((r) => r.group_id === groupId) }),
    askCopilot: async (what, groupId) => {
      asked.push([what, groupId]);
      return { record_id: `record_${asked.length}` };
    },
  };
  return { store, asked, copilot: createCopilotActions({ store, api }) };
}

test("streamed deltas build the text, the final event replaces it", async () => {
  const { store, copilot } = setUp();
  const { ai_copilot_delta: delta, ai_copilot: done } = copilot.copilotHandlers;
  const event = { group_id: "g1", record_id: "record_1", kind: "SUMMARY" };
  const version = store.state.version;
  delta({ ...event, delta: "Complaint: " });
  delta({ ...event, delta: "headache." });
  let [record] = copilot.copilotRecords("g1");
  assert.equal(record.content, "Complaint: headache.");
  assert.equal(record.status, "PROCESSING");
  assert.ok(store.state.version > version, "the views are told");
  done({ ...event, status: "SUCCESS", content: "Complaint: headache (3 days)." });
  [record] = copilot.copilotRecords("g1");
  assert.deepEqual([record.status, record.content, record.error], ["SUCCESS", "Complaint: headache (3 days).", null]);
  assert.deepEqual(copilot.copilotRecords("g2"), []);
});

test("a failure keeps its error and no text", () => {
  const { copilot } = setUp();
  copilot.copilotHandlers.ai_copilot({
    group_id: "g1", record_id: "record_1", kind: "SUGGESTION", status: "FAILED", content: null, error: "AI service answered HTTP 400",
  });
  const [record] = copilot.copilotRecords("g1");
  assert.deepEqual([record.status, record.content, record.error], ["FAILED", "", "AI service answered HTTP 400"]);
});

test("asking adds the record, even when its events came first", async () => {
  const { copilot, asked } = setUp();
  copilot.copilotHandlers.ai_copilot({
    group_id: "g1", record_id: "record_1", kind: "SUGGESTION", status: "SUCCESS", content: "Rest.",
  });
  assert.equal(await copilot.askCopilot("g1", "suggest"), "record_1");
  assert.deepEqual(asked, [["suggest", "g1"]]);
  const [record] = copilot.copilotRecords("g1");
  assert.deepEqual([record.kind, record.status, record.content, record.requested_by], ["SUGGESTION", "SUCCESS", "Rest.", "user_doc"]);
  await copilot.askCopilot("g1", "summary");
  assert.deepEqual(copilot.copilotRecords("g1").map((r) => [r.record_id, r.kind]).sort(), [
    ["record_1", "SUGGESTION"],
    ["record_2", "SUMMARY"],
  ]);
});

test("the listing is merged newest first and a group keeps at most twenty", async () => {
  const listing = Array.from({ length: 25 }, (_, i) => ({
    group_id: "g1",
    record_id: `record_${i}`,
    kind: "SUMMARY",
    status: "SUCCESS",
    content: `s${i}`,
    created_at: new Date(Date.UTC(2026, 0, 1, 9, i)).toISOString(),
  }));
  const { copilot } = setUp(listing);
  await copilot.loadCopilot("g1");
  const records = copilot.copilotRecords("g1");
  assert.equal(records.length, 20);
  assert.equal(records[0].record_id, "record_24");
  assert.equal(records.at(-1).record_id, "record_5");
});

test("Use puts the suggestion into the group's composer; signing out forgets everything", () => {
  const { store, copilot } = setUp();
  copilot.useSuggestion("g1", "Please rest today.");
  assert.equal(store.state.drafts.get("g1"), "Please rest today.");
  const turn = store.state.drafted.get("g1");
  copilot.useSuggestion("g1", "Please rest today.");
  assert.equal(store.state.drafted.get("g1"), turn + 1, "the composer follows each use");
  copilot.copilotHandlers.ai_copilot({ group_id: "g1", record_id: "r", kind: "SUMMARY", status: "SUCCESS", content: "x" });
  store.endSession();
  assert.deepEqual(copilot.copilotRecords("g1"), []);
  assert.equal(store.state.drafted.size, 0);
});

test("an older listing never undoes what the events said", async () => {
  const listing = [
    { group_id: "g1", record_id: "r_done", kind: "SUMMARY", status: "PROCESSING", content: null, error: null, created_at: "2026-01-01T09:00:00Z" },
    { group_id: "g1", record_id: "r_live", kind: "SUMMARY", status: "PROCESSING", content: null, error: null, created_at: "2026-01-01T09:01:00Z" },
    { group_id: "g1", record_id: "r_old", kind: "SUGGESTION", status: "SUCCESS", content: "Rest.", error: null, created_at: "2026-01-01T08:00:00Z" },
  ];
  const { copilot } = setUp(listing);
  const { ai_copilot: done, ai_copilot_delta: delta } = copilot.copilotHandlers;
  done({ group_id: "g1", record_id: "r_done", kind: "SUMMARY", status: "SUCCESS", content: "All done." });
  delta({ group_id: "g1", record_id: "r_live", kind: "SUMMARY", delta: "Compl" });
  await copilot.loadCopilot("g1");
  const byId = Object.fromEntries(copilot.copilotRecords("g1").map((r) => [r.record_id, r]));
  assert.deepEqual([byId.r_done.status, byId.r_done.content], ["SUCCESS", "All done."]);
  assert.deepEqual([byId.r_live.status, byId.r_live.content], ["PROCESSING", "Compl"]);
  assert.deepEqual([byId.r_old.status, byId.r_old.content], ["SUCCESS", "Rest."]);
  assert.equal(byId.r_done.created_at, "2026-01-01T09:00:00Z", "the server's time replaces the guess");
});
