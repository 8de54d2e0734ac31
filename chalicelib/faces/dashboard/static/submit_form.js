// Submit a job (#/submit): a form made from each method's params schema
// (GET /methods), and a file upload (POST /_upload) for a method that reads one.

import { call, get } from "./api.js";
import { clear, h } from "./dom.js";

// The one type a property takes: `anyOf: [X, null]` (an optional field) is X.
function shapeOf(schema) {
  if (schema.anyOf) {
    const kinds = schema.anyOf.filter((option) => option.type !== "null");
    if (kinds.length === 1) return { ...schema, ...kinds[0], optional: true };
    return { ...schema, type: "json" };
  }
  return schema;
}

function control(name, raw, required) {
  const schema = shapeOf(raw);
  const id = `param-${name}`;
  const common = { id, name, "data-param": name, "data-kind": schema.type || "json" };
  if (schema.enum) {
    return h("select", common, !required && h("option", { value: "", text: "(default)" }),
      schema.enum.map((value) => h("option", { value: JSON.stringify(value), text: String(value) })));
  }
  switch (schema.type) {
    case "boolean":
      return h("input", { ...common, type: "checkbox", checked: schema.default === true });
    case "integer":
    case "number":
      return h("input", {
        ...common, type: "number", step: schema.type === "integer" ? "1" : "any", required,
        min: schema.minimum ?? schema.exclusiveMinimum, max: schema.maximum ?? schema.exclusiveMaximum,
        placeholder: schema.default === undefined || schema.default === null ? "" : String(schema.default),
      });
    case "string":
      return h("input", {
        ...common, type: schema.format === "password" || schema.writeOnly ? "password" : "text", required,
        autocomplete: "off", maxlength: schema.maxLength, pattern: schema.pattern ? schema.pattern.replace(/^\^|\$$/g, "") : undefined,
        placeholder: typeof schema.default === "string" ? schema.default : "",
      });
    case "array":
      if (schema.items && schema.items.type === "string") {
        return h("input", { ...common, "data-kind": "strings", type: "text", required, autocomplete: "off", placeholder: "a, b, c" });
      }
      return h("textarea", { ...common, "data-kind": "json", required, placeholder: "[]" });
    default:
      return h("textarea", { ...common, "data-kind": "json", required, placeholder: schema.default ? JSON.stringify(schema.default) : "{}" });
  }
}

function paramField(name, schema, required) {
  const input = control(name, schema, required);
  const title = `${schema.title || name}${required ? " (required)" : ""}`;
  const help = schema.description ? h("small", { id: `${input.id}-help`, text: schema.description }) : null;
  if (help) input.setAttribute("aria-describedby", help.id);
  if (input.type === "checkbox") {
    return h("div", { class: "field" }, h("label", {}, input, ` ${title}`), help);
  }
  return h("div", { class: "field" }, h("label", { for: input.id, text: title }), input, help);
}

// The params the form holds: empty fields are left out (the method's default).
function readParams(form) {
  const params = {};
  for (const input of form.querySelectorAll("[data-param]")) {
    const name = input.dataset.param;
    const kind = input.dataset.kind;
    if (input.type === "checkbox") {
      params[name] = input.checked;
      continue;
    }
    const value = input.value.trim();
    if (value === "") continue;
    if (input.tagName === "SELECT") params[name] = JSON.parse(value);
    else if (kind === "integer" || kind === "number") params[name] = Number(value);
    else if (kind === "strings") params[name] = value.split(",").map((part) => part.trim()).filter(Boolean);
    else if (kind === "json") params[name] = parseJson(value, name);
    else params[name] = input.value;
  }
  const extra = form.querySelector("#params-json");
  if (extra && extra.value.trim()) {
    const more = parseJson(extra.value, "params");
    if (typeof more !== "object" || more === null || Array.isArray(more)) throw new Error("params: give a JSON object");
    Object.assign(params, more);
  }
  return params;
}

function parseJson(text, name) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${name}: not JSON (${error.message})`);
  }
}

function methodForm(method, { showError }) {
  const schema = method.params_schema || {};
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const fields = Object.entries(properties).map(([name, property]) => paramField(name, property, required.has(name)));
  const open = schema.additionalProperties !== false;
  const form = h("form", { class: "submit-form", "aria-label": `Submit ${method.name}` },
    h("h3", { text: method.name }), h("p", { class: "message", text: method.description || "" }),
    fields,
    open && h("div", { class: "field" }, h("label", { for: "params-json", text: "Params (a JSON object)" }),
      h("textarea", { id: "params-json", placeholder: '{"hello": "world"}' })),
    h("div", { class: "field" }, h("label", { for: "job-description", text: "Description (optional)" }),
      h("input", { id: "job-description", autocomplete: "off", maxlength: "1000" })),
    method.writes_file && h("div", { class: "field" },
      h("label", { for: "download-filename", text: "File name of its download (required)" }),
      h("input", { id: "download-filename", required: true, value: `${method.name.split(".").pop()}.bin` })),
    method.reads_file && h("div", { class: "field" },
      h("label", { for: "upload-files", text: "Files to upload (1 to 5, 4 MiB in all)" }),
      h("input", { id: "upload-files", type: "file", multiple: true, required: true })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: method.reads_file ? "Upload and submit" : "Submit" })));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const params = readParams(form);
      const description = form.querySelector("#job-description").value.trim() || undefined;
      const id = method.reads_file ? await upload(method, params, form) : await submit(method, params, description, form);
      location.hash = `#/jobs/${encodeURIComponent(id)}`;
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function submit(method, params, description, form) {
  const body = { method: method.name, params, description };
  const filename = form.querySelector("#download-filename");
  if (filename) body.download = { filename: filename.value.trim() };
  const answer = await call("POST", "/jobs", { body });
  return answer.id;
}

async function upload(method, params, form) {
  const files = form.querySelector("#upload-files").files;
  if (!files.length) throw new Error("Choose a file to upload.");
  const data = new FormData();
  data.append("data", JSON.stringify({ method: method.name, params }));
  for (const file of files) data.append("file", file, file.name);
  const answer = await call("POST", "/_upload", { form: data });
  return answer.id; // job_id is its number (TrueNAS clients read that)
}

export function submitPage(main, { params, showError }) {
  const chooser = h("select", { id: "method" });
  const place = h("div");
  clear(main).append(h("h2", { text: "Submit a job" }),
    h("div", { class: "field" }, h("label", { for: "method", text: "Method" }), chooser), place);
  get("/methods").then(({ methods }) => {
    const byName = new Map(methods.map((method) => [method.name, method]));
    chooser.append(...methods.map((method) => h("option", { value: method.name, text: method.name })));
    const chosen = params.get("method");
    if (chosen && byName.has(chosen)) chooser.value = chosen;
    const show = () => clear(place).append(methodForm(byName.get(chooser.value), { showError }));
    chooser.addEventListener("change", show);
    if (methods.length) show();
  }).catch(showError);
  return () => {};
}
