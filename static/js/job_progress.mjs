// Progressive enhancement: the job page polls its status and moves the progress bar; without JavaScript
// the page offers a link to refresh it.
const box = document.querySelector("[data-job-status]");
if (box) {
  const url = box.dataset.jobStatus;
  const bar = box.querySelector("progress");
  const state = box.querySelector("[data-job-state]");
  const count = box.querySelector("[data-job-count]");
  const message = box.querySelector("[data-job-message]");
  const download = box.querySelector("[data-job-download]");
  const refresh = box.querySelector("[data-job-refresh]");
  if (refresh) refresh.hidden = true;
  const poll = async () => {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const status = await response.json();
      bar.value = status.percent;
      bar.textContent = `${status.percent}%`;
      state.textContent = status.state_label;
      count.textContent = status.total ? `${status.done} of ${status.total} done` : "";
      message.textContent = status.message;
      if (status.download) download.hidden = false;
      if (status.finished) {
        state.classList.remove("govuk-tag--blue");
        state.classList.add(status.state === "failed" ? "govuk-tag--red" : "govuk-tag--green");
        return;
      }
    } catch (error) {
      // A dropped connection: try again at the next tick.
    }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1000);
}
