// Drives the server with the official JS client (@langchain/langgraph-sdk) as a user would and prints what it
// saw, one JSON object a line: {"step", "value"} or {"step", "error": {"name", "status", "message"}}. The
// assertions live in tests/integration/test_js_client.py, so every step runs even when an earlier one failed.
//
//   node tests/js/js_client_check.mjs auth    URL   # the auth stack (tests/graphs/auth.py's tokens)
//   node tests/js/js_client_check.mjs no-auth URL   # the main stack (tests/graphs/langgraph.json)
import { Client } from "@langchain/langgraph-sdk";

const [scenario, apiUrl] = process.argv.slice(2);
const NEVER = "0 0 1 1 *"; // a cron schedule that does not fire while the test runs
const requests = []; // every request the clients sent ("METHOD /path"), to catch unexpected stream reconnects

function print(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

// One step: its value, or the error the client raised (HTTPError carries the response's status).
async function step(name, fn) {
  const started = Date.now();
  try {
    print({ step: name, value: (await fn()) ?? null, ms: Date.now() - started });
  } catch (error) {
    const { name: type, status = null, message } = error ?? {};
    print({ step: name, error: { name: type, status, message: String(message) }, ms: Date.now() - started });
  }
}

// A response whose body stops after its first `events` SSE frames, as when a proxy or the network drops the
// connection mid-run: the client must then resume with Last-Event-ID at the stream's Location.
function cutAfter(response, events) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const body = new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done) text += decoder.decode(value, { stream: true });
      const frames = text.split("\r\n\r\n");
      if (done || frames.length > events) {
        controller.enqueue(new TextEncoder().encode(frames.slice(0, events).map((f) => `${f}\r\n\r\n`).join("")));
        controller.close();
        await reader.cancel();
      }
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

function client(token, { cutStreamAfter, apiKey = null } = {}) {
  let cut = cutStreamAfter; // only the first run stream is cut
  const fetchCutting = async (url, init) => {
    const response = await fetch(url, init);
    if (!cut || !String(url).endsWith("/runs/stream") || !response.ok) return response;
    const events = cut;
    cut = undefined;
    return cutAfter(response, events);
  };
  return new Client({
    apiUrl,
    defaultHeaders: token ? { Authorization: `Bearer ${token}` } : {},
    apiKey, // null: no x-api-key, even when LANGGRAPH_API_KEY / LANGSMITH_API_KEY is set in the environment
    callerOptions: { maxRetries: 0, fetch: fetchCutting }, // maxRetries 0: a 5xx must show, not be retried away
    onRequest: (url, init) => {
      requests.push(`${init.method ?? "GET"} ${url.pathname}`);
      return init;
    },
  });
}

// A stream as [event, data] pairs, with the SSE ids it carried and the run the client learned from the headers.
async function collect(parts, created = {}) {
  const events = [];
  const ids = [];
  for await (const part of parts) {
    events.push([part.event, part.data]);
    if (part.id !== undefined) ids.push(part.id);
  }
  return { events, ids, created: created.run ?? null };
}

async function streamRun(c, threadId, assistantId, payload) {
  const created = {};
  const parts = c.runs.stream(threadId, assistantId, { ...payload, onRunCreated: (run) => (created.run = run) });
  return collect(parts, created);
}

async function authScenario() {
  const a = client("user1-token");
  const b = client("user2-token");
  const assistant = await a.assistants.create({ graphId: "echo", metadata: { from: "js" } });
  const thread = await a.threads.create({ metadata: { from: "js" } });
  const input = { value: "hi" };
  print({ step: "assistant", value: assistant });
  print({ step: "thread", value: thread });

  await step("wait", () => a.runs.wait(thread.thread_id, assistant.assistant_id, { input }));
  await step("stream", () =>
    streamRun(a, thread.thread_id, assistant.assistant_id, {
      input: { messages: [{ role: "user", content: "hey" }] },
      streamMode: ["values", "messages-tuple", "updates"],
    }),
  );
  await step("whoami", async () => a.runs.wait((await a.threads.create()).thread_id, "whoami", { input: {} }));
  await step("a_search", async () => (await a.threads.search({ limit: 1000 })).map((t) => t.thread_id));
  await step("b_search", async () => (await b.threads.search({ limit: 1000 })).map((t) => t.thread_id));
  await step("a_count", () => a.threads.count({ metadata: { from: "js" } }));
  await step("b_count", () => b.threads.count({ metadata: { from: "js" } }));
  await step("b_get", () => b.threads.get(thread.thread_id));
  await step("b_wait", () => b.runs.wait(thread.thread_id, "echo", { input }));
  await step("b_stream", () => streamRun(b, thread.thread_id, "echo", { input }));
  await step("b_assistant", () => b.assistants.get(assistant.assistant_id));
  await step("bad_token", () => client("not-a-token").threads.create());
  await step("no_token", () => client(null).threads.search());
  await step("bad_api_key", () => client(null, { apiKey: "agp_not-a-key" }).threads.search()); // sent as x-api-key

  const notes = ["notes", `js${Date.now()}`]; // a namespace of this run's own: other tests write to ["notes"]
  print({ step: "store_namespace", value: notes });
  await step("store_put", () => a.store.putItem(notes, "k", { text: "a's note" }));
  await step("store_get", () => a.store.getItem(notes, "k"));
  await step("store_search", () => a.store.searchItems(notes));
  await step("store_b_get", () => b.store.getItem(notes, "k"));
  await step("store_b_search", () => b.store.searchItems(notes));
}

async function noAuthScenario() {
  const c = client(null);
  const thread = await c.threads.create({ metadata: { from: "js" } });
  print({ step: "thread", value: thread });

  await step("stream", () =>
    streamRun(c, thread.thread_id, "chat", {
      input: { messages: [{ role: "user", content: "hello" }] },
      streamMode: ["values", "messages-tuple", "updates"],
    }),
  );
  await step("stateless_stream", () => streamRun(c, null, "echo", { input: { value: "x" }, streamMode: "updates" }));
  await step("wait_error", () => c.runs.wait(null, "fail", { input: {} })); // the client raises the run's error
  await step("stream_error", () => streamRun(c, null, "fail", { input: {} }));
  await step("state", async () => (await c.threads.getState(thread.thread_id)).values);
  await step("join_stream", async () => {
    const { thread_id } = await c.threads.create();
    const payload = { input: { seconds: 0.5 }, streamMode: ["custom", "values"], streamResumable: true };
    const run = await c.runs.create(thread_id, "sleepy", payload);
    // "-1": replay from the start, so the events do not depend on how late the join comes.
    const joined = await collect(c.runs.joinStream(thread_id, run.run_id, { lastEventId: "-1" }));
    return { run_id: run.run_id, ...joined, status: (await c.runs.get(thread_id, run.run_id)).status };
  });
  await step("history", async () => (await c.threads.getHistory(thread.thread_id, { limit: 5 })).map((x) => x.next));
  await step("resumed_stream", async () => {
    // The connection drops after metadata and the first values, while the run sleeps (2 s: time for the client
    // to see it still running, as it must before it reconnects).
    const cutting = client(null, { cutStreamAfter: 2 });
    const { thread_id } = await c.threads.create();
    const payload = { input: { seconds: 2 }, streamMode: ["custom", "values"], streamResumable: true };
    const resumed = await streamRun(cutting, thread_id, "sleepy", { ...payload, onDisconnect: "continue" });
    return { ...resumed, requests: requests.filter((r) => r.includes(thread_id)) };
  });
  await step("assistants_search", async () =>
    (await c.assistants.search({ graphId: "echo", limit: 100 })).map((x) => x.assistant_id),
  );

  const namespace = ["js", `ns${Date.now()}`];
  await step("store_put", () => c.store.putItem(namespace, "k", { text: "note", n: 2 }));
  await step("store_get", () => c.store.getItem(namespace, "k", { refreshTtl: true }));
  await step("store_missing", () => c.store.getItem(namespace, "nope"));
  await step("store_search", () => c.store.searchItems(namespace, { filter: { n: 2 }, limit: 100 }));
  await step("store_namespaces", () => c.store.listNamespaces({ prefix: ["js"], limit: 1000 }));
  await step("store_delete", async () => {
    await c.store.deleteItem(namespace, "k");
    return c.store.getItem(namespace, "k");
  });

  await step("cron", async () => {
    const cron = await c.crons.create("echo", { schedule: NEVER, input: { value: "cron" } });
    const found = (await c.crons.search({ assistantId: cron.assistant_id, limit: 1000 })).map((x) => x.cron_id);
    await c.crons.delete(cron.cron_id);
    return { cron_id: cron.cron_id, found };
  });
}

const scenarios = { auth: authScenario, "no-auth": noAuthScenario };
if (!scenarios[scenario] || !apiUrl) {
  console.error("usage: node js_client_check.mjs auth|no-auth URL");
  process.exit(2);
}
await scenarios[scenario]();
print({ step: "requests", value: requests });
