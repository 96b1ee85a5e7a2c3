/* The studio's modeler: a model version (or an empty diagram) in bpmn-js's modeler; "Deploy"
   posts the edited XML to the page endpoint, which deploys it with the version's other files.
   A refused deployment lists every problem and marks each on its element (a red outline and a
   note whose message shows on hover). Served locally; no inline script (CSP script-src 'self'). */
(function () {
  "use strict";

  var EMPTY = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
    '  <bpmn:process id="new_process" isExecutable="true">\n' +
    '    <bpmn:startEvent id="start" />\n' +
    '  </bpmn:process>\n' +
    '  <bpmndi:BPMNDiagram id="BPMNDiagram_1">\n' +
    '    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="new_process">\n' +
    '      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36" /></bpmndi:BPMNShape>\n' +
    '    </bpmndi:BPMNPlane>\n' +
    '  </bpmndi:BPMNDiagram>\n' +
    '</bpmn:definitions>\n';

  function fill(text, n) { return text.replace("%(n)s", String(n)); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined && text !== null) { el.textContent = text; }
    return el;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("studio");
    var box = document.getElementById("modeler");
    if (!form || !box || !window.BpmnJS) { return; }
    var msg = form.dataset;
    var result = document.getElementById("deploy-result");
    var button = document.getElementById("deploy");
    var keyField = document.getElementById("model-key");
    var modeler = new window.BpmnJS({
      container: box, keyboard: { bindTo: document },
      // spiffworkflow:properties, serviceTaskOperator …: the extension elements the engine reads
      moddleExtensions: window.RedwallSpiffModdle ? { spiffworkflow: window.RedwallSpiffModdle } : {}
    });
    window.studioModeler = modeler;  // the browser tests edit the diagram through the modeler's API
    // shared with studio_panel.js: the forms of the version (file name -> JSON text) and those edited here
    var studio = window.RedwallStudio = { modeler: modeler, forms: {}, original: {}, check: null };
    var marked = [];
    var checkButton = document.getElementById("check");

    function load() {
      if (!form.dataset.src) { return Promise.resolve(EMPTY); }
      return fetch(form.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
        .then(function (found) {
          // the shipped models are written without a diagram: lay them out as the case page does
          Object.keys(found.forms || {}).forEach(function (name) {
            studio.forms[name] = found.forms[name];
            studio.original[name] = found.forms[name];
          });
          if (found.xml.indexOf("BPMNDiagram") >= 0 || !window.BpmnAutoLayout) { return found.xml; }
          var xml = window.RedwallDiagram ? window.RedwallDiagram.withFlowRefs(found.xml) : found.xml;
          return window.BpmnAutoLayout.layoutProcess(xml);
        });
    }

    function clearProblems() {
      var canvas = modeler.get("canvas");
      modeler.get("overlays").remove({ type: "problem" });
      marked.forEach(function (id) { canvas.removeMarker(id, "problem"); });
      marked = [];
      result.textContent = "";
    }

    function markProblem(problem) {
      var registry = modeler.get("elementRegistry");
      if (!problem.element_id || !registry.get(problem.element_id)) { return false; }
      modeler.get("canvas").addMarker(problem.element_id, "problem");
      marked.push(problem.element_id);
      var note = element("div", "problem-note", "!");
      note.setAttribute("title", problem.message);
      note.setAttribute("tabindex", "0");
      note.dataset.elementId = problem.element_id;
      note.appendChild(element("span", "problem-text", problem.message));
      modeler.get("overlays").add(problem.element_id, "problem", { position: { top: -14, right: 14 }, html: note });
      return true;
    }

    function problemList(title, problems, mark) {
      var wrap = element("div", "flash " + (mark ? "error problems" : "warn problems"));
      wrap.appendChild(element("p", "strong", title));
      var list = element("ul");
      problems.forEach(function (p) {
        var item = element("li");
        item.dataset.elementId = p.element_id || "";
        item.appendChild(document.createTextNode(p.message + " "));
        var where = [];
        if (p.file) { where.push(p.file + (p.line ? " " + msg.msgLine + " " + p.line : "")); }
        if (p.element_id) { where.push(p.element_id); }
        if (where.length) { item.appendChild(element("span", "element-ref small muted", "(" + where.join(" · ") + ")")); }
        list.appendChild(item);
        if (mark) { markProblem(p); }
      });
      wrap.appendChild(list);
      return wrap;
    }

    function showDeployed(body) {
      var ok = element("div", "flash ok");
      ok.dataset.outcome = body.created ? "deployed" : "unchanged";
      ok.appendChild(element("p", "strong", fill(body.created ? msg.msgDeployed : msg.msgSame, body.version)));
      if (!body.executable) { ok.appendChild(element("p", "not-executable", msg.msgNotExecutable)); }
      var link = element("a", null, fill(msg.msgOpen, body.version));
      link.href = body.url;
      ok.appendChild(element("p")).appendChild(link);
      result.appendChild(ok);
      if (body.warnings && body.warnings.length) { result.appendChild(problemList(msg.msgWarnings, body.warnings, false)); }
    }

    function showRefused(body) {
      var errors = body.errors || {};
      var problems = (errors.bpmn || []).slice();
      Object.keys(errors).forEach(function (field) {
        if (field === "bpmn") { return; }
        [].concat(errors[field]).forEach(function (text) {
          problems.push({ message: field + ": " + (typeof text === "string" ? text : JSON.stringify(text)) });
        });
      });
      if (!problems.length) { problems.push({ message: body.message }); }
      var list = problemList(msg.msgRefused, problems, true);
      list.dataset.outcome = "refused";
      result.appendChild(list);
    }

    function editedForms() {
      var edited = {};
      Object.keys(studio.forms).forEach(function (name) {
        if (studio.forms[name] !== studio.original[name]) { edited[name] = studio.forms[name]; }
      });
      return edited;
    }

    // a new model's process id is its key
    function processIdFromKey() {
      if (!keyField || !keyField.value.trim() || !keyField.checkValidity()) { return; }
      var root = modeler.get("canvas").getRootElement();
      if (root && root.type === "bpmn:Process" && root.businessObject.id !== keyField.value.trim()) {
        modeler.get("modeling").updateProperties(root, { id: keyField.value.trim() });
      }
    }

    function payloadOf(xml) {
      var payload = { xml: xml, forms: editedForms() };
      if (keyField && keyField.value.trim()) { payload.key = keyField.value.trim(); }
      return payload;
    }

    function post(url, payload) {
      return fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(payload)
      }).then(function (response) {
        return response.json().catch(function () { return { message: msg.msgFailed }; })
          .then(function (body) { return { status: response.status, body: body }; });
      });
    }

    // 检查: the deploy validation of the diagram and forms as they are now; nothing is stored
    function check(quiet) {
      if (!quiet) { clearProblems(); result.appendChild(element("p", "muted", msg.msgChecking)); }
      processIdFromKey();
      return modeler.saveXML({ format: true })
        .then(function (saved) { return post(form.dataset.check, payloadOf(saved.xml)); })
        .then(function (answer) {
          clearProblems();
          if (answer.status !== 200) { showRefused(answer.body); return answer; }
          var body = answer.body;
          if (body.valid) {
            var ok = element("div", "flash ok");
            ok.dataset.outcome = "checked";
            ok.appendChild(element("p", "strong", msg.msgCheckOk));
            if (!body.executable) { ok.appendChild(element("p", "not-executable", msg.msgNotExecutable)); }
            result.appendChild(ok);
          } else {
            var list = problemList(msg.msgCheckProblems, body.problems, true);
            list.dataset.outcome = "check-problems";
            result.appendChild(list);
          }
          if (body.warnings && body.warnings.length) { result.appendChild(problemList(msg.msgWarnings, body.warnings, false)); }
          return answer;
        })
        .catch(function () { clearProblems(); showRefused({ message: msg.msgFailed }); });
    }
    studio.check = check;

    function deploy(event) {
      event.preventDefault();
      clearProblems();
      var payload = { forms: editedForms() };
      if (keyField) {
        if (!keyField.reportValidity()) { return; }
        payload.key = keyField.value.trim();
        processIdFromKey();
      }
      button.disabled = true;
      modeler.saveXML({ format: true })
        .then(function (saved) {
          payload.xml = saved.xml;
          return post(form.dataset.deploy, payload);
        })
        .then(function (answer) {
          if (answer.status === 200 || answer.status === 201) { showDeployed(answer.body); } else { showRefused(answer.body); }
        })
        .catch(function () { showRefused({ message: msg.msgFailed }); })
        .then(function () { button.disabled = false; });
    }

    load()
      .then(function (xml) { return modeler.importXML(xml); })
      .then(function () {
        // fit the diagram, then leave room on the left for the palette (about 130 px wide)
        var canvas = modeler.get("canvas");
        canvas.zoom("fit-viewport");
        var outer = canvas.viewbox().outer;
        var scale = Math.min(canvas.zoom(), 1) * Math.max(0.5, (outer.width - 170) / outer.width);
        canvas.zoom(scale);
        var viewbox = canvas.viewbox();
        canvas.viewbox({ x: viewbox.inner.x - 150 / scale, y: viewbox.inner.y - 30 / scale,
                         width: viewbox.width, height: viewbox.height });
        form.addEventListener("submit", deploy);
        checkButton.addEventListener("click", function () { check(false); });
        button.disabled = false;
        checkButton.disabled = false;
        box.dataset.ready = "true";
        document.dispatchEvent(new CustomEvent("studio:ready"));
      })
      .catch(function (error) {
        if (window.console) { window.console.error("modeler:", error); }
        box.textContent = msg.msgDrawing;
        box.dataset.ready = "error";
      });
  });
})();
