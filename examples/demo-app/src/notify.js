// Posts deploy notifications.
const WEBHOOK = "https://hooks.slack.com/services/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";

export async function notify(text) {
  await fetch(WEBHOOK, { method: "POST", body: JSON.stringify({ text }) });
}
