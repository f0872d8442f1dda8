// The AI copilot for doctors (SPEC §15): ask for a hand-over summary or a reply suggestion,
// follow the streamed text (`ai_copilot_delta`, then `ai_copilot`), list a group's copilot
// records, and put a suggestion into the composer. Only doctors get these events.

const KEPT_PER_GROUP = 20;
const KIND = { summary: "SUMMARY", suggest: "SUGGESTION" };
const FINAL = new Set(["SUCCESS", "FAILED", "SKIPPED"]);

export function createCopilotActions({ store, api }) {
  const { state } = store;

  function recordsOf(groupId) {
    let records = state.copilot.get(groupId);
    if (!records) {
      records = new Map();
      state.copilot.set(groupId, records);
    }
    return records;
  }

  /** Merge what is known of a record; the oldest beyond KEPT_PER_GROUP are forgotten. */
  function merge(groupId, record) {
    const records = recordsOf(groupId);
    const known = records.get(record.record_id);
    records.set(record.record_id, { content: "", ...known, ...record });
    while (records.size > KEPT_PER_GROUP) {
      const oldest = copilotRecords(groupId).at(-1);
      records.delete(oldest.record_id);
    }
    store.changed();
  }

  /** A group's copilot records, newest first. */
  function copilotRecords(groupId) {
    const records = [...(state.copilot.get(groupId)?.values() || [])];
    return records.sort((a, b) => (b.created_at || "").localeCompare(a.created_at || ""));
  }

  /** The listing may be older than the events: an unfinished record there keeps what the
   * events already said (its streamed text, or its end). */
  async function loadCopilot(groupId) {
    const data = await api.copilotRecords(groupId);
    for (const record of data.records) {
      const known = recordsOf(groupId).get(record.record_id);
      if (known && !FINAL.has(record.status)) {
        merge(groupId, { ...record, status: known.status, content: known.content, error: known.error });
      } else {
        merge(groupId, { ...record, content: record.content ?? "" });
      }
    }
  }

  async function askCopilot(groupId, what) {
    const { record_id } = await api.askCopilot(what, groupId);
    const known = recordsOf(groupId).get(record_id); // its events may have come first
    merge(groupId, {
      record_id,
      kind: KIND[what],
      status: known?.status || "PROCESSING",
      created_at: known?.created_at || new Date().toISOString(),
      requested_by: store.meId(),
    });
    return record_id;
  }

  const copilotHandlers = {
    ai_copilot_delta: ({ group_id: groupId, record_id: recordId, kind, delta }) => {
      const known = recordsOf(groupId).get(recordId);
      merge(groupId, {
        record_id: recordId,
        kind,
        status: "PROCESSING",
        content: (known?.content || "") + delta,
        created_at: known?.created_at || new Date().toISOString(),
      });
    },
    ai_copilot: ({ group_id: groupId, record_id: recordId, kind, status, content, error }) => {
      const known = recordsOf(groupId).get(recordId);
      merge(groupId, {
        record_id: recordId,
        kind,
        status,
        content: content ?? "",
        error: error || null,
        created_at: known?.created_at || new Date().toISOString(),
      });
    },
  };

  /** "Use": the suggestion becomes the group's composer text, to edit and send. */
  const useSuggestion = (groupId, text) => store.putDraft(groupId, text);

  return { copilotHandlers, copilotRecords, loadCopilot, askCopilot, useSuggestion };
}
