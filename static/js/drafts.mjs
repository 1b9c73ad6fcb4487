// Autosave of long forms: what is typed goes to the server as a draft every few seconds, so
// a session that times out, a closed tab or a lost connection loses nothing. The form view
// brings the draft back. Progressive: without this script the forms work exactly the same.

const INTERVAL_MS = 5000;

function statusOf(form) {
  return form.querySelector("[data-autosave-status]");
}

function say(form, text) {
  const status = statusOf(form);
  if (status) status.textContent = text;
}

function startAutosave(form) {
  const url = form.dataset.autosaveUrl;
  let dirty = false;
  let saving = false;
  let stopped = false;

  const mark = () => {
    dirty = true;
  };
  form.addEventListener("input", mark);
  form.addEventListener("change", mark);
  // The real submit carries everything: no draft save may race it.
  form.addEventListener("submit", () => {
    stopped = true;
  });

  async function save() {
    if (!dirty || saving || stopped) return;
    saving = true;
    dirty = false;
    try {
      const body = new URLSearchParams();
      for (const [key, value] of new FormData(form)) {
        if (typeof value === "string") body.append(key, value);
      }
      const response = await fetch(url, {
        method: "POST",
        body,
        credentials: "same-origin",
        redirect: "manual",
        headers: { "X-CSRFToken": body.get("csrfmiddlewaretoken") || "", Accept: "application/json" },
      });
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        stopped = true;
        say(form, "You have been signed out. Your draft is saved up to your last change: sign in again and it will come back.");
        return;
      }
      const answer = await response.json();
      if (response.ok) {
        say(form, `Draft saved at ${answer.saved_at}.`);
      } else {
        dirty = true;
        say(form, answer.error || "The draft could not be saved. Keep this page open and submit when you are ready.");
      }
    } catch {
      dirty = true;
      say(form, "The draft could not be saved just now (no connection?). It will be tried again.");
    } finally {
      saving = false;
    }
  }

  window.setInterval(save, INTERVAL_MS);
  // Leaving the page: one last try, without waiting for an answer.
  window.addEventListener("pagehide", () => {
    if (!dirty || stopped) return;
    const body = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (typeof value === "string") body.append(key, value);
    }
    navigator.sendBeacon(url, body);
  });
}

for (const form of document.querySelectorAll("form[data-autosave-url]")) {
  startAutosave(form);
}
