// Renders openapi.json as a readable page: no framework, no CDN.
const main = document.getElementById("operations");

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function schemaText(schema) {
  return JSON.stringify(schema, null, 2);
}

function parametersTable(parameters) {
  const table = element("table");
  const head = table.insertRow();
  for (const title of ["parameter", "in", "required", "schema", "meaning"]) head.append(element("th", title));
  for (const parameter of parameters) {
    const row = table.insertRow();
    row.append(element("td", parameter.name), element("td", parameter.in),
      element("td", parameter.required ? "yes" : "no"),
      element("td", JSON.stringify(parameter.schema)), element("td", parameter.description || ""));
  }
  return table;
}

function operation(path, verb, spec) {
  const details = element("details");
  const summary = element("summary");
  summary.append(element("span", verb.toUpperCase(), { class: "verb" }), element("code", path),
    document.createTextNode(" " + (spec.summary || "")));
  details.append(summary);
  if (spec.parameters && spec.parameters.length) details.append(parametersTable(spec.parameters));
  if (spec.requestBody) {
    details.append(element("h3", "Body"));
    details.append(element("pre", schemaText(spec.requestBody.content)));
  }
  details.append(element("h3", "Answers"));
  const answers = element("table");
  for (const [status, answer] of Object.entries(spec.responses)) {
    const row = answers.insertRow();
    const content = answer.content ? Object.values(answer.content)[0].schema : null;
    row.append(element("td", status), element("td", answer.description),
      element("td", content ? JSON.stringify(content) : ""));
  }
  details.append(answers);
  details.append(element("p", spec.security && spec.security.length
    ? "Credential: Bearer (JWT or API key), Basic (API key as password) or Token."
    : "No credential."));
  return details;
}

async function render() {
  const answer = await fetch("openapi.json");
  const contract = await answer.json();
  main.replaceChildren(element("p", `${contract.info.title} ${contract.info.version}: ${contract.info.description}`));
  for (const [path, verbs] of Object.entries(contract.paths)) {
    for (const [verb, spec] of Object.entries(verbs)) main.append(operation(path, verb, spec));
  }
  main.append(element("h2", "Schemas"));
  for (const [name, schema] of Object.entries(contract.components.schemas)) {
    const details = element("details");
    details.append(element("summary", name), element("pre", schemaText(schema)));
    main.append(details);
  }
}

render().catch((error) => { main.replaceChildren(element("p", "Could not read the contract: " + error)); });
