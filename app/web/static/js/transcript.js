// One job: live status while it runs, then the transcript with its player, speakers,
// downloads, enhanced-AI summary and webhook deliveries.

import { api, ApiError, download, ownUrl } from "./api.js";
import { bytes, clock, fill, h, say, when } from "./dom.js";
import { jobName, liveStatus, statusBadge } from "./jobs.js";
import { isTerminal, watchJob } from "./live.js";

const PALETTE_SIZE = 8;
// spaCy's OntoNotes entity types, as a reader would call them.
const ENTITY_TYPES = {
  PERSON: "People",
  NORP: "Groups",
  FAC: "Buildings and places",
  ORG: "Organisations",
  GPE: "Countries, cities, states",
  LOC: "Locations",
  PRODUCT: "Products",
  EVENT: "Events",
  WORK_OF_ART: "Works",
  LAW: "Laws",
  LANGUAGE: "Languages",
  DATE: "Dates",
  TIME: "Times",
  PERCENT: "Percentages",
  MONEY: "Money",
  QUANTITY: "Quantities",
  ORDINAL: "Ordinals",
  CARDINAL: "Numbers",
};
const FORMATS = [
  ["json", "JSON"],
  ["txt", "Text"],
  ["srt", "SRT"],
  ["vtt", "WebVTT"],
  ["rttm", "RTTM"],
];

export async function renderJob(main, id, signal) {
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  fill(main, h("div", { class: "job-page" }, backLink(), h("p", { class: "muted" }, "Loading…"), status));
  let job;
  try {
    job = await api(`jobs/${id}`, { signal });
  } catch (error) {
    if (signal.aborted) return;
    const missing = error instanceof ApiError && error.status === 404;
    fill(main, h("div", { class: "job-page" }, backLink(), h("h1", {}, missing ? "No such job" : "Could not load the job"),
      h("p", { class: "error" }, error.message)));
    return;
  }
  if (job.kind === "enhancement" && job.options.transcription_job_id) {
    location.replace(`#/jobs/${job.options.transcription_job_id}`);
    return;
  }
  new JobView(main, job, signal).start();
}

function backLink() {
  return h("nav", { class: "crumbs" }, h("a", { href: "#/" }, "← All jobs"));
}

class JobView {
  constructor(main, job, signal) {
    this.main = main;
    this.job = job;
    this.signal = signal;
    this.result = null;
    this.words = []; // {start, end, el} in time order
    this.current = null;
    this.follow = true;

    this.title = h("h1", { class: "job-title" });
    this.meta = h("p", { class: "job-meta muted" });
    this.liveStatus = liveStatus();
    this.cancelButton = h("button", { type: "button", class: "button small", onclick: () => this.cancel() }, "Cancel");
    this.live = h("div", { class: "live-line" }, this.liveStatus.el, this.cancelButton);
    this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.body = h("div", { class: "job-grid" });
    this.deleteButton = h("button", { type: "button", class: "button small danger", onclick: () => this.remove() }, "Delete");
    fill(
      main,
      h(
        "div",
        { class: "job-page" },
        backLink(),
        h("header", { class: "job-head" }, h("div", {}, this.title, this.meta), h("div", { class: "actions" }, this.deleteButton)),
        this.live,
        this.status,
        this.body,
      ),
    );
  }

  start() {
    this.showHead();
    if (isTerminal(this.job.status)) {
      this.showOutcome();
      return;
    }
    watchJob(this.job.id, {
      signal: this.signal,
      onUpdate: (job) => {
        const was = this.job.status;
        this.job = job;
        this.showHead();
        if (isTerminal(job.status) && !isTerminal(was)) this.showOutcome();
      },
      onGone: () => {
        fill(this.live, h("p", { class: "error" }, "This job was deleted."));
        this.body.replaceChildren();
        this.deleteButton.hidden = true;
      },
    });
  }

  showHead() {
    const job = this.job;
    fill(this.title, jobName(job));
    const parts = [
      job.audio_duration ? clock(job.audio_duration) : null,
      job.language ? `language ${job.language}` : null,
      job.models.asr || job.options.model,
      job.options.diarize ? "speakers labelled" : null,
      job.options.split_channels ? "one speaker per channel" : null,
      job.input.size_bytes ? bytes(job.input.size_bytes) : null,
      `created ${when(job.created_at)}`,
    ];
    fill(this.meta, parts.filter(Boolean).join(" · "));
    this.liveStatus.update(job);
    if (isTerminal(job.status) && !this.cancelButton.hidden) {
      const focused = document.activeElement === this.cancelButton;
      this.cancelButton.hidden = true;
      if (focused) this.deleteButton.focus();
    }
  }

  async showOutcome() {
    const job = this.job;
    if (job.status !== "succeeded") {
      fill(this.body, h("div", { class: "job-side" }, this.webhooksCard()));
      return;
    }
    this.player = this.playerCard();
    this.speakers = h("section", { class: "card speakers", "aria-labelledby": "speakers-title" });
    this.transcript = h("section", { class: "card transcript", "aria-labelledby": "transcript-title" },
      h("h2", { id: "transcript-title" }, "Transcript"), h("p", { class: "muted" }, "Loading the transcript…"));
    this.downloads = h("section", { class: "card downloads", "aria-labelledby": "downloads-title" });
    this.insights = h("section", { class: "card insights", "aria-labelledby": "insights-title" });
    fill(
      this.body,
      h("div", { class: "job-main" }, this.player, this.speakers, this.transcript),
      h("div", { class: "job-side" }, this.downloads, this.insights, this.webhooksCard()),
    );
    this.transcript.addEventListener("click", (event) => this.seekFrom(event));
    await this.loadTranscript();
    this.loadInsights();
  }

  async loadTranscript() {
    try {
      this.result = await api(`jobs/${this.job.id}/transcript?format=json`, { signal: this.signal });
    } catch (error) {
      if (!this.signal.aborted) fill(this.transcript, h("h2", { id: "transcript-title" }, "Transcript"), h("p", { class: "error" }, error.message));
      return;
    }
    this.renderTranscript();
    this.renderSpeakers();
    this.renderDownloads();
  }

  // --- speakers ---------------------------------------------------------------------------

  speakerList() {
    const result = this.result;
    const labels = [];
    const seen = new Set();
    const add = (label) => {
      if (label && !seen.has(label)) {
        seen.add(label);
        labels.push(label);
      }
    };
    for (const s of result.speakers || []) add(s.id);
    for (const seg of result.segments) add(seg.speaker_id || seg.speaker);
    return labels;
  }

  colour(label) {
    return `spk-${Math.max(0, this.labels.indexOf(label)) % PALETTE_SIZE}`;
  }

  nameOf(label) {
    return (this.result.speaker_names || {})[label] || label;
  }

  renderSpeakers() {
    const labels = this.labels;
    const heading = h("h2", { id: "speakers-title" }, "Speakers");
    if (!labels.length) {
      fill(this.speakers, heading, h("p", { class: "muted" },
        "This transcript has no speaker labels. Run a job with “Label speakers” (or one speaker per channel) to tell voices apart."));
      return;
    }
    const stats = new Map((this.result.speakers || []).map((s) => [s.id, s]));
    const names = this.result.speaker_names || {};
    const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    const inputs = new Map();
    const rows = labels.map((label) => {
      const input = h("input", {
        id: `name-${label}`,
        type: "text",
        maxlength: 80,
        value: names[label] || "",
        placeholder: label,
        autocomplete: "off",
        dataset: { speaker: label },
      });
      inputs.set(label, input);
      const stat = stats.get(label);
      const detail = stat && stat.speaking_time !== undefined ? `${clock(stat.speaking_time)} spoken` : "";
      return h(
        "div",
        { class: `speaker-row ${this.colour(label)}` },
        h("span", { class: "swatch", "aria-hidden": "true" }),
        h("label", { for: input.id }, label, detail ? h("span", { class: "muted small block" }, detail) : null),
        input,
      );
    });
    const save = h("button", { type: "submit", class: "button primary small", id: "save-names" }, "Save names");
    const form = h(
      "form",
      {
        class: "speaker-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const update = {};
          for (const [label, input] of inputs) update[label] = input.value.trim() || null;
          save.disabled = true;
          say(status, "Saving…");
          try {
            const job = await api(`jobs/${this.job.id}`, { method: "PATCH", json: { speaker_names: update }, signal: this.signal });
            this.job = job;
            await this.loadTranscript();
            this.say("Speaker names saved; downloads use them.");
          } catch (error) {
            if (this.signal.aborted) return;
            say(status, `Not saved: ${error.message}`, "error");
            save.disabled = false;
          }
        },
      },
      rows,
      h("div", { class: "form-foot" }, save, status),
    );
    fill(this.speakers, heading, h("p", { class: "muted small" }, "Name the voices; every download and the summary use the names."), form);
  }

  say(message, kind) {
    say(this.status, message, kind);
  }

  // --- transcript ---------------------------------------------------------------------------

  renderTranscript() {
    const result = this.result;
    this.labels = this.speakerList();
    this.words = [];
    this.current = null;
    const turns = [];
    let turn = null;
    const flat = result.words || [];
    let w = 0;
    result.segments.forEach((segment, index) => {
      const label = segment.speaker_id || segment.speaker || null;
      if (!turn || turn.label !== label) {
        turn = { label, start: segment.start, paragraph: h("p") };
        turns.push(turn);
      }
      let words = segment.words;
      if (!words) {
        // Words are listed for the whole result: take those that start before this segment ends.
        words = [];
        const last = index === result.segments.length - 1;
        while (w < flat.length && (last || flat[w].start < segment.end - 0.01)) words.push(flat[w++]);
      }
      if (!words.length) words = [{ word: segment.text.trim(), start: segment.start, end: segment.end }];
      for (const word of words) {
        const el = h("span", { class: "w", dataset: { start: word.start } }, word.word);
        this.words.push({ start: word.start, end: word.end, el });
        turn.paragraph.append(el, " ");
      }
    });
    const body = turns.map((t) =>
      h(
        "article",
        { class: `turn ${t.label ? this.colour(t.label) : "spk-none"}` },
        h(
          "header",
          {},
          t.label ? h("span", { class: "who" }, this.nameOf(t.label)) : null,
          h("button", { type: "button", class: "time", dataset: { start: t.start }, "aria-label": `Play from ${clock(t.start)}` }, clock(t.start)),
        ),
        t.paragraph,
      ),
    );
    const empty = result.segments.length ? null : h("p", { class: "muted" }, "No speech was found in this recording.");
    fill(this.transcript, h("h2", { id: "transcript-title" }, "Transcript"), empty, h("div", { class: "turns" }, body));
  }

  seekFrom(event) {
    const target = event.target.closest("[data-start]");
    if (!target || !this.audio) return;
    this.audio.currentTime = Number(target.dataset.start);
    this.highlight(true);
    if (this.audio.paused) this.audio.play().catch(() => {});
  }

  highlight(jump = false) {
    const t = this.audio.currentTime;
    const words = this.words;
    let lo = 0;
    let hi = words.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (words[mid].start <= t + 0.01) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const word = found >= 0 && t <= words[found].end + 0.3 ? words[found] : null;
    if (word === this.current) return;
    if (this.current) this.current.el.classList.remove("current");
    this.current = word;
    if (!word) return;
    word.el.classList.add("current");
    if (this.follow || jump) word.el.scrollIntoView({ block: "nearest", behavior: jump ? "auto" : "smooth" });
  }

  playerCard() {
    const card = h("section", { class: "card player", "aria-label": "Recording" });
    if (this.job.input.url || !this.job.input.filename) {
      fill(card, h("p", { class: "muted" }, "Playback needs an uploaded recording; this job read its recording from a URL."));
      return card;
    }
    const audio = h("audio", { controls: true, preload: "metadata", id: "player" });
    const follow = h("input", { type: "checkbox", id: "follow", checked: true });
    follow.addEventListener("change", () => {
      this.follow = follow.checked;
    });
    const note = h("p", { class: "muted small", role: "status" });
    this.audio = audio;
    let tick = 0;
    const loop = () => {
      this.highlight();
      tick = audio.paused ? 0 : requestAnimationFrame(loop);
    };
    audio.addEventListener("play", () => {
      cancelAnimationFrame(tick);
      tick = requestAnimationFrame(loop);
    });
    audio.addEventListener("seeked", () => this.highlight());
    let retried = false;
    audio.addEventListener("error", async () => {
      // An expired link is renewed once; anything else is a format this browser cannot play.
      if (!retried) {
        retried = true;
        const at = audio.currentTime;
        if (await this.loadAudio(audio)) {
          audio.currentTime = at;
          return;
        }
      }
      say(note, "This browser cannot play this recording's format; the transcript and downloads still work.", "error");
    });
    this.loadAudio(audio);
    fill(card, audio, h("div", { class: "player-foot" }, h("label", { class: "check" }, follow, " Follow the words"), note));
    return card;
  }

  async loadAudio(audio) {
    try {
      const link = await api(`jobs/${this.job.id}/audio/url`, { signal: this.signal });
      audio.src = ownUrl(link.url);
      return true;
    } catch (error) {
      if (!this.signal.aborted) this.say(`The recording cannot be played: ${error.message}`, "error");
      return false;
    }
  }

  // --- downloads ---------------------------------------------------------------------------

  renderDownloads() {
    const base = (this.job.input.filename || this.job.id).replace(/\.[^.]+$/, "");
    const available = FORMATS.filter(([fmt]) => fmt !== "rttm" || this.result.diarization);
    const buttons = available.map(([fmt, label]) =>
      h(
        "button",
        {
          type: "button",
          class: "button small",
          id: `download-${fmt}`,
          onclick: async () => {
            try {
              await download(`/api/v1/jobs/${this.job.id}/transcript?format=${fmt}`, `${base}.${fmt}`);
            } catch (error) {
              this.say(`Download failed: ${error.message}`, "error");
            }
          },
        },
        label,
      ),
    );
    fill(this.downloads, h("h2", { id: "downloads-title" }, "Download"), h("div", { class: "button-row" }, buttons));
  }

  // --- enhanced AI --------------------------------------------------------------------------

  async loadInsights() {
    const heading = h("h2", { id: "insights-title" }, "Summary and entities");
    fill(this.insights, heading, h("p", { class: "muted" }, "Loading…"));
    let latest;
    try {
      const page = await api(`enhanced-ai?transcription_job_id=${this.job.id}&limit=1`, { signal: this.signal });
      latest = page.data[0];
    } catch (error) {
      if (!this.signal.aborted) fill(this.insights, heading, h("p", { class: "error" }, error.message));
      return;
    }
    const ask = h("button", { type: "button", class: "button small", onclick: () => this.enhance() },
      latest ? "Run again" : "Summarise");
    if (!latest) {
      fill(this.insights, heading, h("p", { class: "muted" }, "A summary, key points and the names, places and dates mentioned."), ask);
      return;
    }
    if (!isTerminal(latest.status)) {
      const live = liveStatus();
      live.update(latest);
      fill(this.insights, heading, live.el);
      watchJob(latest.id, {
        signal: this.signal,
        onUpdate: (job) => {
          if (isTerminal(job.status)) this.loadInsights();
          else live.update(job);
        },
      });
      return;
    }
    if (latest.status !== "succeeded") {
      fill(this.insights, heading, statusBadge(latest), h("p", { class: "error" }, latest.error ? latest.error.message : ""), ask);
      return;
    }
    let out;
    try {
      out = await api(`enhanced-ai/${latest.id}`, { signal: this.signal });
    } catch (error) {
      if (!this.signal.aborted) fill(this.insights, heading, h("p", { class: "error" }, error.message), ask);
      return;
    }
    fill(this.insights, heading, this.insightBody(out.result), ask);
  }

  insightBody(result) {
    const parts = [];
    if (result.summary) parts.push(h("p", { class: "summary" }, result.summary));
    if (result.key_points && result.key_points.length) {
      parts.push(h("h3", {}, "Key points"));
      parts.push(
        h(
          "ul",
          { class: "points" },
          result.key_points.map((p) =>
            h(
              "li",
              {},
              h("button", { type: "button", class: "time", dataset: { start: p.start }, onclick: (e) => this.seekFrom(e) }, clock(p.start)),
              p.speaker ? h("span", { class: `who ${this.colour(p.speaker_id || p.speaker)}` }, p.speaker) : null,
              " ",
              p.text,
            ),
          ),
        ),
      );
    }
    if (result.entities && result.entities.length) {
      parts.push(h("h3", {}, "Entities"));
      const byType = new Map();
      for (const e of result.entities) {
        if (!byType.has(e.type)) byType.set(e.type, []);
        byType.get(e.type).push(e);
      }
      parts.push(
        h(
          "dl",
          { class: "entities" },
          [...byType].map(([type, list]) => [
            h("dt", { title: type }, ENTITY_TYPES[type] || type),
            h("dd", {}, list.map((e) =>
              h("button", {
                type: "button",
                class: "chip",
                dataset: { start: e.occurrences[0] ? e.occurrences[0].start : 0 },
                title: `${e.count} mention${e.count === 1 ? "" : "s"}; play the first`,
                onclick: (ev) => this.seekFrom(ev),
              }, e.text, e.count > 1 ? h("span", { class: "count" }, `×${e.count}`) : null),
            )),
          ]),
        ),
      );
    }
    if (!parts.length) parts.push(h("p", { class: "muted" }, "Nothing to summarise in this transcript."));
    return h("div", {}, parts);
  }

  async enhance() {
    try {
      await api("enhanced-ai", { method: "POST", json: { transcription_job_id: this.job.id }, signal: this.signal });
      this.loadInsights();
    } catch (error) {
      if (!this.signal.aborted) this.say(`Could not start the summary: ${error.message}`, "error");
    }
  }

  // --- webhooks ------------------------------------------------------------------------------

  webhooksCard() {
    const card = h("section", { class: "card webhooks", "aria-labelledby": "webhooks-title" });
    this.webhooks = card;
    this.loadWebhooks();
    return card;
  }

  async loadWebhooks() {
    const heading = h("h2", { id: "webhooks-title" }, "Webhook");
    let page;
    try {
      page = await api(`jobs/${this.job.id}/webhooks`, { signal: this.signal });
    } catch (error) {
      if (!this.signal.aborted) fill(this.webhooks, heading, h("p", { class: "error" }, error.message));
      return;
    }
    if (!page.data.length) {
      const none = this.job.options.webhook_url
        ? "The webhook is sent when the job ends."
        : "This job has no webhook URL.";
      fill(this.webhooks, heading, h("p", { class: "muted" }, none));
      return;
    }
    const items = page.data.map((d) => {
      const last = d.attempts[d.attempts.length - 1];
      const lines = [
        `${d.attempts.length} attempt${d.attempts.length === 1 ? "" : "s"}`,
        last && last.status_code ? `last answer ${last.status_code}` : null,
        last && last.latency_ms !== null && last.latency_ms !== undefined ? `${Math.round(last.latency_ms)} ms` : null,
        d.next_attempt_at && d.status === "pending" ? `next ${when(d.next_attempt_at)}` : null,
      ].filter(Boolean);
      return h(
        "li",
        { class: "delivery" },
        h("div", {}, h("strong", {}, d.event), " ", h("span", { class: `badge delivery-${d.status}` }, d.status)),
        h("div", { class: "muted small url" }, d.url),
        h("div", { class: "small" }, lines.join(" · ")),
        d.last_error ? h("div", { class: "error small" }, d.last_error) : null,
      );
    });
    const redeliver = h("button", { type: "button", class: "button small", id: "redeliver" }, "Redeliver");
    redeliver.addEventListener("click", async () => {
      redeliver.disabled = true;
      try {
        await api(`jobs/${this.job.id}/webhooks/redeliver`, { method: "POST", signal: this.signal });
        this.say("The webhook is being sent again.");
        setTimeout(() => this.loadWebhooks(), 1500);
      } catch (error) {
        if (this.signal.aborted) return;
        this.say(`Could not redeliver: ${error.message}`, "error");
        redeliver.disabled = false;
      }
    });
    fill(this.webhooks, heading, h("ul", { class: "deliveries" }, items), redeliver);
  }

  // --- actions -------------------------------------------------------------------------------

  async cancel() {
    try {
      this.job = await api(`jobs/${this.job.id}/cancel`, { method: "POST", signal: this.signal });
      this.showHead();
    } catch (error) {
      if (!this.signal.aborted) this.say(`Could not cancel: ${error.message}`, "error");
    }
  }

  async remove() {
    if (!window.confirm(`Delete “${jobName(this.job)}” with its recording and transcript?`)) return;
    try {
      await api(`jobs/${this.job.id}`, { method: "DELETE", signal: this.signal });
      location.hash = "#/";
    } catch (error) {
      if (!this.signal.aborted) this.say(`Could not delete: ${error.message}`, "error");
    }
  }
}
