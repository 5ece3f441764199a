// The job list and the upload form.

import { api, ApiError, ownUrl, send } from "./api.js";
import { bytes, clock, fill, h, say, when } from "./dom.js";
import { isTerminal, watchJob } from "./live.js";

const MAX_STREAMS = 4; // browsers allow six connections per host; leave room for the rest
const PAGE = 25;
const STATUS_TEXT = {
  queued: "Queued",
  running: "Running",
  succeeded: "Done",
  failed: "Failed",
  canceled: "Canceled",
};

let catalog = null; // GET /models, once per page load

export function jobName(job, jobs) {
  if (job.kind === "enhancement") {
    const source = jobs && jobs.get(job.options.transcription_job_id);
    return `Summary of ${source ? jobName(source) : "a transcription"}`;
  }
  return job.input.filename || job.recording_id || job.input.url || `Job ${job.id.slice(0, 8)}`;
}

export function statusBadge(job) {
  return h("span", { class: `badge status-${job.status}` }, STATUS_TEXT[job.status] || job.status);
}

/**
 * A job's status, progress and error, updated in place as events arrive (replacing the
 * elements would take keyboard focus away from the controls beside them).
 */
export function liveStatus() {
  const badge = h("span", { class: "badge" });
  const bar = h("progress", { max: 100, value: 0 });
  const label = h("span", { class: "muted small" });
  const line = h("div", { class: "progress-line" }, bar, label);
  const error = h("span", { class: "error small block" });
  const el = h("div", { class: "live-status" }, badge, line, error);
  return {
    el,
    update(job) {
      badge.className = `badge status-${job.status}`;
      badge.textContent = STATUS_TEXT[job.status] || job.status;
      line.hidden = isTerminal(job.status);
      const text = job.stage ? `${job.stage.replaceAll("_", " ")} ${job.progress}%` : `${job.progress}%`;
      bar.value = job.progress;
      bar.setAttribute("aria-label", `Progress ${text}`);
      label.textContent = text;
      error.textContent = job.error ? job.error.message : "";
      error.hidden = !job.error;
    },
  };
}

export function renderJobs(main, signal) {
  const jobs = new Map(); // id -> job, as shown
  const rows = new Map(); // id -> <tr>
  const streams = new Map(); // id -> AbortController
  let nextCursor = null;

  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty", hidden: true }, "No jobs yet. Upload a recording to start.");
  const listStatus = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "button ghost", hidden: true, onclick: () => load(true) }, "Load more");
  const uploads = h("ul", { class: "uploads", "aria-live": "polite" });

  const form = optionsForm();
  const fileInput = h("input", {
    id: "file",
    type: "file",
    class: "visually-hidden",
    accept: "audio/*,video/*,.flac,.mp3,.wav,.m4a,.ogg,.opus,.webm,.mp4,.mkv,.mov,.aac,.amr,.wma",
    multiple: true,
    onchange() {
      startUploads([...fileInput.files]);
      fileInput.value = "";
    },
  });
  const dropzone = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    fileInput,
    h(
      "label",
      { for: "file", class: "dropzone-label" },
      h("strong", {}, "Drop recordings here"),
      h("span", {}, " or "),
      h("span", { class: "linklike" }, "choose files"),
      h("span", { class: "muted small block" }, "Audio or video. Each file starts a job with the options below."),
    ),
  );
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, () => dropzone.classList.remove("dragging"));
  }
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    startUploads([...event.dataTransfer.files]);
  });

  fill(
    main,
    h(
      "div",
      { class: "jobs-page" },
      h(
        "section",
        { class: "card upload", "aria-labelledby": "upload-title" },
        h("h1", { id: "upload-title" }, "New transcription"),
        dropzone,
        uploads,
        form.element,
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "jobs-title" },
        h(
          "div",
          { class: "section-head" },
          h("h2", { id: "jobs-title" }, "Jobs"),
          h("button", { type: "button", class: "button ghost", onclick: () => load(false) }, "Refresh"),
        ),
        listStatus,
        h(
          "table",
          { class: "joblist" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Recording"),
              h("th", { scope: "col" }, "Status"),
              h("th", { scope: "col" }, "Length"),
              h("th", { scope: "col" }, "Created"),
              h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
            ),
          ),
          tbody,
        ),
        empty,
        more,
      ),
    ),
  );

  // One row per job; events update its cells in place.
  function row(job) {
    const status = liveStatus();
    const link = h("a", { href: `#/jobs/${job.id}` });
    const about = h("span", { class: "muted small block" });
    const length = h("td", { "data-label": "Length" });
    const cancelButton = h("button", { type: "button", class: "button small", onclick: () => cancel(job.id) }, "Cancel");
    const deleteButton = h("button", { type: "button", class: "button small danger", onclick: () => remove(job.id) }, "Delete");
    const tr = h(
      "tr",
      {},
      h("td", { class: "name", "data-label": "Recording" }, link, about),
      h("td", { "data-label": "Status" }, status.el),
      length,
      h("td", { "data-label": "Created" }, h("time", { datetime: job.created_at, title: when(job.created_at) }, when(job.created_at, { short: true }))),
      h("td", { class: "row-actions" }, h("div", { class: "actions" }, cancelButton, deleteButton)),
    );
    const paint = (current) => {
      tr.dataset.id = current.id;
      tr.dataset.status = current.status;
      link.textContent = jobName(current, jobs);
      about.textContent = [
        current.kind === "enhancement" ? "Enhanced AI" : current.options.model,
        current.options.diarize ? "speakers" : null,
        current.options.split_channels ? "by channel" : null,
        current.input.size_bytes ? bytes(current.input.size_bytes) : null,
      ]
        .filter(Boolean)
        .join(" · ");
      status.update(current);
      length.textContent = current.audio_duration ? clock(current.audio_duration) : "–";
      if (isTerminal(current.status) && !cancelButton.hidden) {
        const focused = document.activeElement === cancelButton;
        cancelButton.hidden = true;
        if (focused) deleteButton.focus();
      }
    };
    paint(job);
    return { tr, paint };
  }

  function show(job, { prepend = false } = {}) {
    jobs.set(job.id, job);
    let entry = rows.get(job.id);
    if (entry) {
      entry.paint(job);
    } else {
      entry = row(job);
      if (prepend) tbody.prepend(entry.tr);
      else tbody.append(entry.tr);
      rows.set(job.id, entry);
    }
    empty.hidden = rows.size > 0;
    if (!isTerminal(job.status)) follow();
  }

  function forget(id) {
    const entry = rows.get(id);
    if (entry) entry.tr.remove();
    rows.delete(id);
    jobs.delete(id);
    const stream = streams.get(id);
    if (stream) stream.abort();
    streams.delete(id);
    empty.hidden = rows.size > 0;
    follow();
  }

  // Stream the newest unfinished jobs (at most MAX_STREAMS at once); the rest follow later.
  function follow() {
    if (signal.aborted) return;
    for (const job of jobs.values()) {
      if (streams.size >= MAX_STREAMS) return;
      if (isTerminal(job.status) || streams.has(job.id)) continue;
      const controller = new AbortController();
      signal.addEventListener("abort", () => controller.abort());
      streams.set(job.id, controller);
      watchJob(job.id, {
        signal: controller.signal,
        onUpdate: (update) => {
          if (rows.has(update.id)) show(update);
        },
        onGone: () => forget(job.id),
      }).finally(() => {
        if (streams.get(job.id) === controller) streams.delete(job.id);
        follow();
      });
    }
  }

  async function load(append) {
    say(listStatus, append ? "Loading more…" : "");
    try {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (append && nextCursor) query.set("cursor", nextCursor);
      const page = await api(`jobs?${query}`, { signal });
      if (!append) {
        for (const controller of streams.values()) controller.abort();
        streams.clear();
        tbody.replaceChildren();
        rows.clear();
        jobs.clear();
      }
      for (const job of page.data) jobs.set(job.id, job);
      for (const job of page.data) show(job);
      nextCursor = page.next_cursor;
      more.hidden = !nextCursor;
      empty.hidden = rows.size > 0;
      say(listStatus, "");
    } catch (error) {
      if (!signal.aborted) say(listStatus, `Could not load the jobs: ${error.message}`, "error");
    }
  }

  async function cancel(id) {
    const job = jobs.get(id);
    try {
      show(await api(`jobs/${id}/cancel`, { method: "POST", signal }));
      say(listStatus, `Canceled ${jobName(job, jobs)}.`);
    } catch (error) {
      say(listStatus, `Could not cancel: ${error.message}`, "error");
      if (error instanceof ApiError && error.code === "job_finished") load(false);
    }
  }

  async function remove(id) {
    const job = jobs.get(id);
    if (!window.confirm(`Delete “${jobName(job, jobs)}” with its recording and transcript?`)) return;
    try {
      await api(`jobs/${id}`, { method: "DELETE", signal });
      forget(id);
      say(listStatus, `Deleted ${jobName(job, jobs)}.`);
    } catch (error) {
      say(listStatus, `Could not delete: ${error.message}`, "error");
    }
  }

  function startUploads(files) {
    const options = form.values();
    if (!options) return;
    for (const file of files) uploadOne(file, options);
  }

  async function uploadOne(file, options) {
    const controller = new AbortController();
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
    const text = h("span", { class: "small" }, "Starting…");
    const stop = h("button", { type: "button", class: "button small", onclick: () => controller.abort() }, "Stop");
    const item = h(
      "li",
      { class: "upload-item" },
      h("span", { class: "upload-name" }, file.name, h("span", { class: "muted small" }, ` ${bytes(file.size)}`)),
      bar,
      text,
      stop,
    );
    uploads.prepend(item);
    const progress = (loaded, total) => {
      const percent = Math.round((loaded / total) * 100);
      bar.value = percent;
      say(text, `Uploading ${percent}%`);
    };
    try {
      const job = await uploadFile(file, options, { signal: controller.signal, onProgress: progress });
      bar.value = 100;
      stop.remove();
      fill(text, "Queued: ", h("a", { href: `#/jobs/${job.id}` }, "open"));
      show(job, { prepend: true });
      setTimeout(() => item.remove(), 8000);
    } catch (error) {
      stop.remove();
      say(text, error.code === "aborted" ? "Stopped." : `Failed: ${error.message}`, "error");
      item.append(
        h("button", { type: "button", class: "button small ghost", onclick: () => item.remove() }, "Dismiss"),
      );
    }
  }

  load(false);
}

/**
 * Upload a file the direct way (POST /uploads, PUT to its URL, POST /transcribe with its id).
 * Where object storage refuses the browser's PUT (no CORS rule for this origin), the file goes
 * through the API as a multipart upload instead.
 */
async function uploadFile(file, options, { signal, onProgress }) {
  const upload = await api("uploads", {
    method: "POST",
    signal,
    json: { filename: file.name, content_type: file.type || null, size_bytes: file.size },
  });
  try {
    await send({
      method: "PUT",
      url: upload.needs_api_key ? ownUrl(upload.upload_url) : upload.upload_url,
      headers: upload.headers || {},
      withKey: upload.needs_api_key,
      body: file,
      onProgress,
      signal,
    });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 0 || error.code === "aborted" || upload.needs_api_key) {
      throw error;
    }
    const body = new FormData();
    body.append("file", file);
    for (const [name, value] of Object.entries(options)) body.append(name, String(value));
    return send({ method: "POST", url: "/api/v1/transcribe", body, onProgress, signal });
  }
  return api("transcribe", { method: "POST", signal, json: { upload_id: upload.upload_id, ...options } });
}

function optionsForm() {
  const model = h("select", { id: "opt-model", name: "model" });
  const language = h("select", { id: "opt-language", name: "language" }, h("option", { value: "" }, "Detect"));
  const diarize = h("input", { id: "opt-diarize", name: "diarize", type: "checkbox" });
  const speakers = h("input", {
    id: "opt-speakers",
    name: "num_speakers",
    type: "number",
    min: 1,
    max: 20,
    inputmode: "numeric",
    placeholder: "auto",
    disabled: true,
  });
  const split = h("input", { id: "opt-split", name: "split_channels", type: "checkbox" });
  const recording = h("input", { id: "opt-recording", name: "recording_id", type: "text", maxlength: 200 });
  const webhook = h("input", { id: "opt-webhook", name: "webhook_url", type: "url", placeholder: "https://…" });
  const hint = h("p", { class: "muted small", id: "opt-hint" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });

  const languageNames = new Intl.DisplayNames(undefined, { type: "language" });
  function sync() {
    const chosen = catalog && catalog.data.find((m) => m.id === model.value);
    const englishOnly = Boolean(chosen && chosen.english_only);
    language.disabled = englishOnly;
    if (englishOnly) language.value = "";
    speakers.disabled = !diarize.checked;
    if (!diarize.checked) speakers.value = "";
    say(hint, englishOnly ? "This model is English-only; it transcribes English." : "");
  }
  diarize.addEventListener("change", () => {
    if (diarize.checked) split.checked = false;
    sync();
  });
  split.addEventListener("change", () => {
    if (split.checked) diarize.checked = false;
    sync();
  });
  model.addEventListener("change", sync);

  (async () => {
    try {
      catalog = catalog || (await api("models"));
    } catch (error) {
      say(status, `Could not read the server's models: ${error.message}`, "error");
      return;
    }
    for (const m of catalog.data) {
      model.append(h("option", { value: m.id, selected: m.default }, m.id));
    }
    for (const code of catalog.languages) {
      let name = code;
      try {
        name = languageNames.of(code) || code;
      } catch {
        // an unusual code the browser cannot name
      }
      language.append(h("option", { value: code }, `${name} (${code})`));
    }
    speakers.max = String(catalog.max_speakers);
    sync();
  })();

  const field = (label, control, extra) =>
    h("div", { class: "field" }, h("label", { for: control.id }, label), control, extra);
  const check = (label, control) => h("div", { class: "field check" }, control, h("label", { for: control.id }, label));

  const element = h(
    "form",
    { class: "options", onsubmit: (event) => event.preventDefault() },
    h("div", { class: "pair" }, field("Model", model), field("Language", language)),
    hint,
    h("div", { class: "pair" }, check("Label speakers", diarize), field("Speakers", speakers)),
    check("One speaker per channel (stereo calls)", split),
    h(
      "details",
      { class: "more" },
      h("summary", {}, "More options"),
      field("Your reference", recording),
      field("Webhook URL", webhook),
    ),
    status,
  );

  return {
    element,
    values() {
      if (!element.reportValidity()) return null;
      const out = { diarize: diarize.checked, split_channels: split.checked };
      if (model.value) out.model = model.value;
      if (language.value && !language.disabled) out.language = language.value;
      if (diarize.checked && speakers.value) out.num_speakers = Number(speakers.value);
      if (recording.value.trim()) out.recording_id = recording.value.trim();
      if (webhook.value.trim()) out.webhook_url = webhook.value.trim();
      return out;
    },
  };
}
