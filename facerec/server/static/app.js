// The facerec web page: plain JavaScript over the HTTP API, no build step.
// Every name and file name reaches the page through textContent, never as HTML.
"use strict";

const KEY_STORE = "facerec-api-key"; // sessionStorage: this tab only, never a cookie or URL
const $ = (id) => document.getElementById(id);

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function say(message) { $("status").textContent = message || ""; }

// --- the API, with the key asked for once per tab -------------------------------------
function askForKey() {
  return new Promise((resolve) => {
    const dialog = $("key-dialog");
    $("key-form").onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORE, $("key-input").value);
      $("key-input").value = "";
      dialog.close();
      resolve();
    };
    dialog.showModal();
    $("key-input").focus();
  });
}

async function api(path, options = {}) {
  for (;;) {
    const headers = new Headers(options.headers || {});
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers.set("X-API-Key", key);
    const response = await fetch(path, { ...options, headers });
    if (response.status === 401) { await askForKey(); continue; }
    return response;
  }
}

async function json(path, options) {
  const response = await api(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok && !(body && body.skipped)) {
    throw new Error((body.error && body.error.message) || `${response.status}`);
  }
  return body;
}

async function thumbnail(faceId) {
  const response = await api(`/v1/faces/${faceId}/thumbnail`);
  if (!response.ok) return null;
  return URL.createObjectURL(await response.blob());
}

const person = (name) => `/v1/people/${encodeURIComponent(name)}`;

// --- views ----------------------------------------------------------------------------
const views = { people: showPeople, person: showPerson, enroll: showEnroll,
                identify: () => {}, photos: showPhotos, groups: showGroups,
                health: showHealth };

async function route() {
  const [, view = "people", arg = ""] = location.hash.split("/");
  const name = views[view] ? view : "people";
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== `view-${name}`;
  }
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  say("");
  try { await views[name](decodeURIComponent(arg)); } catch (error) { say(error.message); }
}

let everyone = [];

async function showPeople() {
  everyone = (await json("/v1/people")).people;
  drawPeople();
}

function drawPeople() {
  const wanted = $("people-search").value.trim().toLowerCase();
  const list = $("people-list");
  list.replaceChildren();
  const shown = everyone.filter((p) => p.name.toLowerCase().includes(wanted));
  for (const p of shown) {
    const image = element("img", { alt: `face of ${p.name}` });
    const link = element("a", { href: `#/person/${encodeURIComponent(p.name)}` }, image,
      element("strong", { text: p.name, class: "person-name" }),
      element("div", { text: `${p.faces} face${p.faces === 1 ? "" : "s"}` }));
    list.append(element("li", {}, link));
    json(person(p.name)).then((found) => found.faces.length && thumbnail(found.faces[0].id))
      .then((url) => { if (url) image.src = url; }).catch(() => {});
  }
  if (!shown.length) list.append(element("li", { text: everyone.length ? "Nobody matches." : "Nobody is enrolled yet." }));
}

async function showPerson(name) {
  const found = await json(person(name));
  $("person-name").textContent = found.name;
  $("rename-input").value = found.name;
  $("rename-button").onclick = () => renamePerson(found.name);
  $("delete-person").onclick = () => deletePerson(found.name);
  const list = $("person-faces");
  list.replaceChildren();
  for (const face of found.faces) {
    const image = element("img", { alt: `face ${face.id} of ${found.name}` });
    thumbnail(face.id).then((url) => { if (url) image.src = url; });
    const source = face.source.startsWith("upload:") ? "uploaded photo" : face.source;
    list.append(element("li", {}, image, element("div", { text: source }),
      element("button", { type: "button", class: "danger", text: "Delete face",
                          onclick: () => deleteFace(face.id, found.name) })));
  }
  pagedPhotos(`${person(found.name)}/photos`, new URLSearchParams(), $("person-photos"),
              $("person-photos-summary"), $("person-photos-more"));
}

// --- the photo library ----------------------------------------------------------------
const PHOTO_PAGE = 24;

async function photoThumbnail(sha256) {
  const response = await api(`/v1/photos/${sha256}/thumbnail`);
  return response.ok ? URL.createObjectURL(await response.blob()) : null;
}

function photoCard(photo) {
  const people = photo.faces.filter((f) => f.person !== "unknown").map((f) => f.person);
  const unknown = photo.faces.length - people.length;
  const file = photo.path.split(/[\\/]/).pop();
  const image = element("img", { alt: `photo ${file}` });
  photoThumbnail(photo.sha256).then((url) => { if (url) image.src = url; });
  const who = [...new Set(people)].join(", ") + (unknown ? `${people.length ? ", " : ""}${unknown} unknown` : "");
  return element("li", {}, image, element("strong", { text: file, title: photo.path }),
    element("div", { text: photo.taken ? photo.taken.replace("T", " ") : "no date" }),
    element("div", { text: who || "no face" }));
}

// one page at a time from `path` (with `params`), appended to `list`; `more` asks for the next
async function pagedPhotos(path, params, list, summary, more, offset = 0) {
  if (!offset) list.replaceChildren();
  more.hidden = true;
  params.set("offset", offset);
  params.set("limit", PHOTO_PAGE);
  let body;
  try { body = await json(`${path}?${params}`); }
  catch (error) { summary.textContent = error.message; return; }
  list.append(...body.photos.map(photoCard));
  const shown = Math.min(body.total, offset + body.photos.length);
  summary.textContent = body.total ? `${shown} of ${body.total} photo${body.total === 1 ? "" : "s"}, newest first` : "No photos.";
  if (shown < body.total) {
    more.hidden = false;
    more.onclick = () => pagedPhotos(path, params, list, summary, more, shown);
  }
}

async function showPhotos() {
  const names = (await json("/v1/people")).people.map((p) => p.name);
  const box = $("photos-people");
  const chosen = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
  box.replaceChildren(...names.map((name) => element("label", {},
    element("input", chosen.has(name) ? { type: "checkbox", value: name, checked: "" }
                                      : { type: "checkbox", value: name }), ` ${name}`)));
  if (!names.length) box.append("Nobody is enrolled yet.");
}

function findPhotos(event) {
  event.preventDefault();
  const together = new FormData($("photos-form")).get("together");
  const params = new URLSearchParams();
  if (together === "unknown") params.set("unknown", "true");
  else {
    const people = [...$("photos-people").querySelectorAll("input:checked")].map((i) => i.value);
    if (!people.length) { $("photos-summary").textContent = "Choose at least one person."; return; }
    for (const name of people) params.append("people", name);
    params.set("together", together);
  }
  pagedPhotos("/v1/photos", params, $("photos-list"), $("photos-summary"), $("photos-more"));
}

async function renamePerson(old) {
  const name = $("rename-input").value.trim();
  if (!name || name === old) return;
  try {
    await json(person(old), { method: "PATCH", headers: { "Content-Type": "application/json" },
                              body: JSON.stringify({ name }) });
    location.hash = `#/person/${encodeURIComponent(name)}`;
    say(`Renamed ${old} to ${name}.`);
  } catch (error) { say(error.message); }
}

async function deletePerson(name) {
  if (!confirm(`Delete ${name} and all their faces? This cannot be undone.`)) return;
  try {
    await json(person(name), { method: "DELETE" });
    location.hash = "#/people";
    say(`Deleted ${name}.`);
  } catch (error) { say(error.message); }
}

async function deleteFace(id, name) {
  if (!confirm(`Delete this face of ${name}? This cannot be undone.`)) return;
  try {
    await json(`/v1/faces/${id}`, { method: "DELETE" });
    await route();
  } catch (error) { say(error.message); }
}

async function showEnroll() {
  const names = (await json("/v1/people")).people.map((p) => p.name);
  $("known-names").replaceChildren(...names.map((n) => element("option", { value: n })));
}

async function enrollPhotos(files) {
  const name = $("enroll-name").value.trim();
  if (!name) { say("Give the person's name first."); $("enroll-name").focus(); return; }
  const log = $("enroll-progress");
  for (const file of files) {
    const line = element("li", { text: `${file.name}: sending…` });
    log.prepend(line);
    const form = new FormData();
    form.append("images", file, file.name);
    try {
      const body = await json(`${person(name)}/faces`, { method: "POST", body: form });
      if (body.skipped && body.skipped.length) {
        line.className = "skipped";
        line.textContent = `${file.name}: skipped, ${body.skipped.map((s) => s.reason).join("; ")}`;
      } else {
        line.textContent = `${file.name}: ${body.added ? "enrolled" : "already there"} as ${name}`;
      }
    } catch (error) {
      line.className = "skipped";
      line.textContent = `${file.name}: ${error.message}`;
    }
  }
}

async function identifyPhoto(file) {
  const image = $("identify-image");
  if (image.src) URL.revokeObjectURL(image.src);
  image.src = URL.createObjectURL(file);
  // a browser may not show every format the server reads (HEIC outside Safari): the faces
  // are still listed, without boxes drawn over the photo
  const shown = await image.decode().then(() => true, () => false);
  const stage = $("identify-stage");
  for (const old of stage.querySelectorAll(".box")) old.remove();
  const list = $("identify-faces");
  list.replaceChildren();
  $("identify-summary").textContent = "Identifying…";
  const form = new FormData();
  form.append("image", file, file.name);
  let body;
  try { body = await json("/v1/identify", { method: "POST", body: form }); }
  catch (error) { $("identify-summary").textContent = error.message; return; }
  $("identify-summary").textContent =
    `${body.faces.length} face${body.faces.length === 1 ? "" : "s"} (${ruleText(body)})` +
    (shown ? "" : "; this browser cannot show this photo's format, so the faces are listed below");
  const width = image.naturalWidth, height = image.naturalHeight;
  body.faces.forEach((face, index) => {
    const [x1, y1, x2, y2] = face.box;
    const named = face.status === "known";
    const label = named ? `${face.person} ${face.similarity.toFixed(2)}` : face.status;
    const others = face.candidates.map((c) => `${c.person} ${c.similarity.toFixed(2)}`).join(", ");
    const detail = element("li", { class: `face-${face.status}`,
      text: `face ${index + 1}: ${label}${face.reason ? ` (${face.reason})` : ""}; candidates: ${others || "none"}` });
    if (named) {
      detail.append(" ", element("button", { type: "button", class: "not-person",
        text: `Not ${face.person}`, onclick: () => notThisPerson(file, index, face.person, detail) }));
    } else if (shown) {
      detail.append(" ", element("button", { type: "button", text: "Enroll this face",
        onclick: () => enrollFace(image, face.box, detail) }));
    }
    list.append(detail);
    if (!shown) return;
    const box = element("button", { type: "button", class: `box ${named ? "" : face.status}`.trim(),
      title: `candidates: ${others || "none"}`, "aria-label": `face ${index + 1}: ${label}`,
      onclick: () => detail.scrollIntoView({ block: "nearest" }) },
      element("span", { text: label }));
    Object.assign(box.style, { left: `${100 * x1 / width}%`, top: `${100 * y1 / height}%`,
      width: `${100 * (x2 - x1) / width}%`, height: `${100 * (y2 - y1) / height}%` });
    stage.append(box);
  });
}

function ruleText(body) {
  const threshold = `threshold ${body.threshold.toFixed(3)}`;
  const people = `${body.enrolled_people} ${body.enrolled_people === 1 ? "person" : "people"}`;
  if (body.threshold_source === "open-set") {
    return `${threshold}: at most ${100 * body.fpir}% of strangers named among ${people}`;
  }
  if (body.threshold_source === "model" && body.fpir !== undefined) {
    return `${threshold}, the model's pair threshold: fewer than ${100 * body.fpir}% of strangers named among ${people}`;
  }
  return `${threshold}, ${body.threshold_source}`;
}

async function notThisPerson(file, index, name, line) {
  const form = new FormData();
  form.append("image", file, file.name);
  try {
    const body = await json(`${person(name)}/rejections?face=${index}`, { method: "POST", body: form });
    line.append(` — kept: not ${name}; now ${body.after.status === "known" ? body.after.person : body.after.status}`);
    for (const button of line.querySelectorAll("button.not-person")) button.disabled = true;
  } catch (error) { line.append(` — ${error.message}`); }
}

async function enrollFace(image, [x1, y1, x2, y2], line) {
  const name = (prompt("Enroll this face as (a new or existing person):") || "").trim();
  if (!name) return;
  const pad = 0.4 * Math.max(x2 - x1, y2 - y1);
  const left = Math.max(0, x1 - pad), top = Math.max(0, y1 - pad);
  const right = Math.min(image.naturalWidth, x2 + pad), bottom = Math.min(image.naturalHeight, y2 + pad);
  const canvas = element("canvas", { width: Math.round(right - left), height: Math.round(bottom - top) });
  canvas.getContext("2d").drawImage(image, left, top, right - left, bottom - top, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  const form = new FormData();
  form.append("images", blob, "face.jpg");
  try {
    const body = await json(`${person(name)}/faces`, { method: "POST", body: form });
    line.append(` — ${body.added ? `enrolled as ${name}` : `not enrolled: ${body.skipped.map((s) => s.reason).join("; ")}`}`);
  } catch (error) { line.append(` — ${error.message}`); }
}

async function unknownCrop(number) {
  const response = await api(`/v1/unknown/${number}/thumbnail`);
  return response.ok ? response.blob() : null;
}

async function showGroups() {
  const body = await json("/v1/clusters", { method: "POST" });
  const list = $("groups-list");
  list.replaceChildren();
  for (const group of body.groups) {
    const faces = group.faces.filter((f) => f.unknown_face !== undefined);
    const sheet = element("div", { class: "sheet" });
    for (const face of faces.slice(0, 12)) {
      const image = element("img", { alt: `unknown face from ${face.image}` });
      unknownCrop(face.unknown_face).then((blob) => { if (blob) image.src = URL.createObjectURL(blob); });
      sheet.append(image);
    }
    const name = element("input", { "aria-label": `name for group ${group.group}`,
                                     list: "known-names", autocomplete: "off" });
    const outcome = element("span");
    const button = element("button", { type: "button", text: "Enroll this group",
      onclick: () => nameGroup(faces, name.value.trim(), outcome) });
    list.append(element("li", { class: "group" },
      element("strong", { text: `group ${group.group}: ${group.faces.length} faces` }),
      sheet, element("label", { text: "Name " }, name), " ", button, " ", outcome));
  }
  list.append(element("li", { text: `${body.ungrouped.length} faces fit no group; ${body.faces} unknown faces seen` }));
}

async function nameGroup(faces, name, outcome) {
  if (!name) { outcome.textContent = "Give a name first."; return; }
  let added = 0;
  for (const face of faces) {
    const blob = await unknownCrop(face.unknown_face);
    if (!blob) continue;
    const form = new FormData();
    form.append("images", blob, `unknown-${face.unknown_face}.jpg`);
    try {
      const body = await json(`${person(name)}/faces`, { method: "POST", body: form });
      added += body.added || 0;
    } catch (error) { outcome.textContent = error.message; }
  }
  outcome.textContent = `${added} of ${faces.length} faces enrolled as ${name}`;
}

async function showHealth() {
  const body = await json("/v1/health");
  $("health-list").replaceChildren(...Object.entries(body).flatMap(([name, value]) =>
    [element("dt", { text: name }), element("dd", { text: String(value) })]));
}

const PHOTO_NAME = /\.(heic|heif|hif|avif)$/i; // formats a browser may give no image/ type

function isPhoto(file) { return file.type.startsWith("image/") || PHOTO_NAME.test(file.name); }

function dropZone(zone, input, handle) {
  input.addEventListener("change", () => { handle([...input.files]); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    handle([...event.dataTransfer.files].filter(isPhoto));
  });
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("people-search").addEventListener("input", drawPeople);
  dropZone($("enroll-drop"), $("enroll-files"), enrollPhotos);
  dropZone($("identify-drop"), $("identify-file"), (files) => files[0] && identifyPhoto(files[0]));
  $("photos-form").addEventListener("submit", findPhotos);
  $("groups-refresh").addEventListener("click", () => showGroups().catch((e) => say(e.message)));
  window.addEventListener("hashchange", route);
  route();
});
