/* The studio's properties panel and form editor (see templates/studio/_properties.html and
   _form_editor.html). The panel writes exactly what the engine reads (workflows/engine.py,
   workflows/model_parsing.py):
   - a lane's id is the group that works its tasks; a process's <spiffworkflow:property
     name="default_group"> is the group of tasks in no lane;
   - a user/manual task's spiffworkflow:property candidate_groups / candidate_users
     (comma separated) and formJsonSchemaFilename (a form file of the model);
   - a timer's bpmn:timeDuration / timeDate / timeCycle (ISO 8601 as tools write it), and a
     deadline in working days as timeDate "working_days(n)" (the tenant's calendar);
   - a service task's <spiffworkflow:serviceTaskOperator id="CONNECTOR" resultVariable="…">
     with <spiffworkflow:parameters><spiffworkflow:parameter id value/> (value: an expression);
   - a script task's bpmn:script, a sequence flow's bpmn:conditionExpression.
   Scripts and conditions are checked as you type (the deploy validation, nothing stored).
   The form editor keeps the model's forms (file name -> JSON text) in window.RedwallStudio;
   studio.js sends the edited and new ones with the deployment. No inline script (CSP). */
(function () {
  "use strict";

  // the moddle descriptor of SpiffWorkflow's extension elements the engine reads
  window.RedwallSpiffModdle = {
    name: "SpiffWorkflow", prefix: "spiffworkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: [
        { name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] },
      { name: "ServiceTaskOperator", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "resultVariable", isAttr: true, type: "String" },
        { name: "parameterList", type: "Parameters" }] },
      { name: "Parameters", superClass: ["Element"], properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "type", isAttr: true, type: "String" },
        { name: "value", isAttr: true, type: "String" }] }
    ]
  };

  var FORM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}\.json$/;
  var FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
  var LANE_ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
  var WORKING_DAYS = /^\s*working_days\(\s*(\d+)\s*\)\s*$/;

  function $(id) { return document.getElementById(id); }

  document.addEventListener("studio:ready", function () {
    var studio = window.RedwallStudio;
    var panel = $("properties");
    if (!studio || !panel) { return; }
    var modeler = studio.modeler;
    var modeling = modeler.get("modeling");
    var moddle = modeler.get("moddle");
    var canvas = modeler.get("canvas");
    var current = null;
    var writing = false;
    var checkTimer = null;

    // -- reading and writing the model --------------------------------------------------------
    function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }
    function extensions(bo) { return (bo && bo.extensionElements && bo.extensionElements.values) || []; }
    function findExtension(bo, type) { return extensions(bo).filter(function (v) { return is(v, type); })[0]; }

    function properties(bo) {
      var found = {};
      var container = findExtension(bo, "spiffworkflow:Properties");
      ((container && container.properties) || []).forEach(function (p) { found[p.name] = p.value || ""; });
      return found;
    }

    function ensureExtensionElements(element, bo) {
      if (!bo.extensionElements) {
        var ext = moddle.create("bpmn:ExtensionElements", { values: [] });
        ext.$parent = bo;
        modeling.updateModdleProperties(element, bo, { extensionElements: ext });
      }
      return bo.extensionElements;
    }

    function ensureExtension(element, bo, type, attrs) {
      var found = findExtension(bo, type);
      if (found) { return found; }
      var ext = ensureExtensionElements(element, bo);
      found = moddle.create(type, attrs || {});
      found.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat([found]) });
      return found;
    }

    function setProperty(element, bo, name, value) {
      value = (value || "").trim();
      var container = findExtension(bo, "spiffworkflow:Properties");
      var existing = container && (container.properties || []).filter(function (p) { return p.name === name; })[0];
      if (!value) {
        if (existing) {
          modeling.updateModdleProperties(element, container, {
            properties: container.properties.filter(function (p) { return p !== existing; }) });
        }
        return;
      }
      if (existing) { modeling.updateModdleProperties(element, existing, { value: value }); return; }
      container = ensureExtension(element, bo, "spiffworkflow:Properties", { properties: [] });
      var prop = moddle.create("spiffworkflow:Property", { name: name, value: value });
      prop.$parent = container;
      modeling.updateModdleProperties(element, container, { properties: (container.properties || []).concat([prop]) });
    }

    function expression(body) {
      return body && body.trim() ? moddle.create("bpmn:FormalExpression", { body: body.trim() }) : undefined;
    }

    function timerOf(bo) {
      return ((bo && bo.eventDefinitions) || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0];
    }

    function processOf(element) {
      var bo = element.businessObject;
      if (is(bo, "bpmn:Process")) { return bo; }
      if (is(bo, "bpmn:Participant")) { return bo.processRef; }
      if (is(bo, "bpmn:Collaboration")) {
        var withProcess = (bo.participants || []).filter(function (p) { return p.processRef; });
        var executable = withProcess.filter(function (p) { return p.processRef.isExecutable; })[0] || withProcess[0];
        return executable ? executable.processRef : null;
      }
      return null;
    }

    function lanesOf(process) {
      var found = [];
      function walk(sets) {
        (sets || []).forEach(function (set) {
          (set.lanes || []).forEach(function (lane) { found.push(lane); walk(lane.childLaneSet ? [lane.childLaneSet] : []); });
        });
      }
      walk(process && process.laneSets);
      return found;
    }

    // every lane of the process with its group (the lane id), also for diagrams drawn without lanes
    function showLanes(element, process) {
      var list = $("prop-lane-list");
      list.textContent = "";
      var lanes = lanesOf(process);
      $("prop-lanes").hidden = !lanes.length;
      lanes.forEach(function (lane, index) {
        var label = document.createElement("label");
        label.setAttribute("for", "prop-lane-" + index);
        label.textContent = lane.name || lane.id;
        var input = document.createElement("input");
        input.id = "prop-lane-" + index;
        input.className = "mono";
        input.setAttribute("list", "group-list");
        input.setAttribute("autocomplete", "off");
        input.dataset.lane = lane.id;
        input.value = lane.id;
        input.addEventListener("change", function () {
          var value = input.value.trim();
          if (!LANE_ID.test(value)) { setMessage(panel.dataset.msgLane, true); input.value = lane.id; return; }
          write(function () {
            var shape = modeler.get("elementRegistry").get(lane.id);
            if (shape) { modeling.updateProperties(shape, { id: value }); } else { modeling.updateModdleProperties(element, lane, { id: value }); }
          });
          input.dataset.lane = lane.id;
          input.value = lane.id;
        });
        list.appendChild(label);
        list.appendChild(input);
      });
    }

    function write(change) {
      if (!current) { return; }
      writing = true;
      try { change(current, current.businessObject); setMessage(""); } catch (error) { setMessage(String(error.message || error), true); }
      writing = false;
    }

    // -- the panel ----------------------------------------------------------------------------
    function setMessage(text, bad) {
      var out = $("prop-check");
      out.textContent = text;
      out.className = "small" + (bad ? " field-error" : "");
    }

    function section(name, visible) {
      panel.querySelector('[data-section="' + name + '"]').hidden = !visible;
    }

    function fillForms(selected) {
      var select = $("prop-form");
      while (select.options.length > 1) { select.remove(1); }
      Object.keys(studio.forms).sort().forEach(function (name) { select.add(new Option(name, name)); });
      if (selected && !studio.forms.hasOwnProperty(selected)) { select.add(new Option(selected, selected)); }
      select.value = selected || "";
      $("prop-form-edit").disabled = !selected || !studio.forms.hasOwnProperty(selected);
    }

    function show(element) {
      current = element || canvas.getRootElement();
      if (current && current.type === "label") { current = current.labelTarget; }
      var bo = current.businessObject;
      panel.dataset.elementId = bo.id || "";
      $("prop-selected").textContent = (bo.id || "") + " · " + current.type.replace("bpmn:", "");
      section("general", true);
      $("prop-name").value = bo.name || "";
      var isLane = is(bo, "bpmn:Lane");
      section("lane", isLane);
      if (isLane) { $("prop-lane-group").value = bo.id; }
      var process = processOf(current);
      section("process", !!process);
      if (process) { $("prop-default-group").value = properties(process).default_group || ""; showLanes(current, process); }
      var human = is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask");
      section("human", human);
      if (human) {
        var props = properties(bo);
        $("prop-candidate-groups").value = props.candidate_groups || "";
        $("prop-candidate-users").value = props.candidate_users || "";
        fillForms(props.formJsonSchemaFilename || "");
        var owner = processOf(canvas.getRootElement()) || bo.$parent;
        var lane = lanesOf(owner).filter(function (l) { return (l.flowNodeRef || []).indexOf(bo) >= 0; }).pop();
        var group = lane ? lane.id : (properties(owner).default_group || "—");
        $("prop-task-lane").textContent = $("prop-task-lane").dataset.label + ": " + group;
      }
      var timer = timerOf(bo);
      section("timer", !!timer);
      if (timer) {
        var kind = timer.timeCycle ? "timeCycle" : (timer.timeDate ? "timeDate" : "timeDuration");
        var body = (timer[kind] && timer[kind].body) || "";
        var days = kind === "timeDate" && WORKING_DAYS.exec(body);
        $("prop-timer-kind").value = days ? "workingDays" : kind;
        $("prop-timer-value").value = days ? days[1] : body;
      }
      var service = is(bo, "bpmn:ServiceTask");
      section("service", service);
      if (service) {
        var operator = findExtension(bo, "spiffworkflow:ServiceTaskOperator");
        var connector = (operator && operator.id) || "";
        var select = $("prop-connector");
        if (connector && !Array.prototype.some.call(select.options, function (o) { return o.value === connector; })) {
          select.add(new Option(connector, connector));
        }
        select.value = connector;
        $("prop-result-variable").value = (operator && operator.resultVariable) || "";
        var params = (operator && operator.parameterList && operator.parameterList.parameters) || [];
        $("prop-parameters").value = params.map(function (p) { return p.id + " = " + (p.value || ""); }).join("\n");
      }
      var script = is(bo, "bpmn:ScriptTask");
      section("script", script);
      if (script) { $("prop-script").value = bo.script || ""; }
      var flow = is(bo, "bpmn:SequenceFlow");
      section("condition", flow);
      if (flow) { $("prop-condition").value = (bo.conditionExpression && bo.conditionExpression.body) || ""; }
    }

    function checkSoon() {
      if (!studio.check) { return; }
      clearTimeout(checkTimer);
      checkTimer = setTimeout(function () { studio.check(true); }, 800);
    }

    modeler.on("selection.changed", function (event) {
      show(event.newSelection.length === 1 ? event.newSelection[0] : null);
    });
    modeler.on("elements.changed", function (event) {
      if (writing || !current) { return; }
      if (event.elements.some(function (e) { return e === current; })) { show(current); }
    });

    $("prop-name").addEventListener("change", function () {
      var value = this.value;
      write(function (element) { modeling.updateProperties(element, { name: value.trim() || undefined }); });
    });
    $("prop-lane-group").addEventListener("change", function () {
      var value = this.value.trim();
      if (!LANE_ID.test(value)) { setMessage(panel.dataset.msgLane, true); return; }
      write(function (element) { modeling.updateProperties(element, { id: value }); });
      show(current);
    });
    $("prop-default-group").addEventListener("change", function () {
      var value = this.value;
      write(function (element) { setProperty(element, processOf(element), "default_group", value); });
    });
    $("prop-candidate-groups").addEventListener("change", function () {
      var value = this.value.split(",").map(function (v) { return v.trim(); }).filter(Boolean).join(",");
      write(function (element, bo) { setProperty(element, bo, "candidate_groups", value); });
    });
    $("prop-candidate-users").addEventListener("change", function () {
      var value = this.value.split(",").map(function (v) { return v.trim(); }).filter(Boolean).join(",");
      write(function (element, bo) { setProperty(element, bo, "candidate_users", value); });
    });
    $("prop-form").addEventListener("change", function () {
      var value = this.value;
      write(function (element, bo) { setProperty(element, bo, "formJsonSchemaFilename", value); });
      $("prop-form-edit").disabled = !value;
    });
    $("prop-form-edit").addEventListener("click", function () {
      var name = $("prop-form").value;
      if (name) { openForm(name); }
    });
    $("prop-form-new").addEventListener("click", function () {
      var bo = current.businessObject;
      var name = bo.id + ".json";
      if (!studio.forms.hasOwnProperty(name)) { addForm(name, bo.name || bo.id); }
      write(function (element) { setProperty(element, bo, "formJsonSchemaFilename", name); });
      fillForms(name);
      openForm(name);
    });

    function writeTimer() {
      var kind = $("prop-timer-kind").value;
      var value = $("prop-timer-value").value.trim();
      write(function (element, bo) {
        var timer = timerOf(bo);
        var attrs = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
        if (kind === "workingDays") {
          attrs.timeDate = expression("working_days(" + (parseInt(value, 10) || 0) + ")");
        } else {
          attrs[kind] = expression(value);
        }
        modeling.updateModdleProperties(element, timer, attrs);
      });
      checkSoon();
    }
    $("prop-timer-kind").addEventListener("change", writeTimer);
    $("prop-timer-value").addEventListener("change", writeTimer);

    function writeService() {
      var connector = $("prop-connector").value;
      var result = $("prop-result-variable").value.trim();
      var lines = $("prop-parameters").value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
      write(function (element, bo) {
        var operator = findExtension(bo, "spiffworkflow:ServiceTaskOperator");
        if (!connector) {
          if (operator) {
            modeling.updateModdleProperties(element, bo.extensionElements, {
              values: bo.extensionElements.values.filter(function (v) { return v !== operator; }) });
          }
          return;
        }
        operator = ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator", {});
        var list = moddle.create("spiffworkflow:Parameters", { parameters: [] });
        list.$parent = operator;
        list.parameters = lines.map(function (line) {
          var at = line.indexOf("=");
          var param = moddle.create("spiffworkflow:Parameter", {
            id: (at < 0 ? line : line.slice(0, at)).trim(), type: "any", value: at < 0 ? "" : line.slice(at + 1).trim() });
          param.$parent = list;
          return param;
        });
        modeling.updateModdleProperties(element, operator, {
          id: connector, resultVariable: result || undefined, parameterList: lines.length ? list : undefined });
      });
      checkSoon();
    }
    ["prop-connector", "prop-result-variable", "prop-parameters"].forEach(function (id) {
      $(id).addEventListener("change", writeService);
    });

    $("prop-script").addEventListener("input", function () {
      var value = this.value;
      write(function (element, bo) {
        modeling.updateProperties(element, { script: value, scriptFormat: bo.scriptFormat || "python" });
      });
      checkSoon();
    });
    $("prop-condition").addEventListener("input", function () {
      var value = this.value;
      write(function (element) { modeling.updateProperties(element, { conditionExpression: expression(value) }); });
      checkSoon();
    });

    // -- the form editor ------------------------------------------------------------------------
    var editor = $("form-editor");
    var fileSelect = $("form-file");
    var schemaBox = $("form-schema");
    var sourceForm = $("form-source");
    var fieldMessage = $("field-message");

    function fillFiles(selected) {
      while (fileSelect.options.length) { fileSelect.remove(0); }
      Object.keys(studio.forms).sort().forEach(function (name) { fileSelect.add(new Option(name, name)); });
      fileSelect.value = selected || fileSelect.value;
    }

    function refreshPreview() {
      if (window.htmx) { window.htmx.trigger(sourceForm, "refresh"); }
    }

    function openForm(name) {
      fillFiles(name);
      $("form-name").value = name;
      schemaBox.value = studio.forms[name] || "";
      editor.dataset.form = name;
      refreshPreview();
      editor.scrollIntoView({ block: "start" });
    }

    function addForm(name, title) {
      studio.forms[name] = JSON.stringify({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": title || "",
        "type": "object", "required": [], "properties": {}
      }, null, 2);
    }

    // Enter in a field of the editor must not send the page away (the preview follows every change)
    sourceForm.addEventListener("submit", function (event) { event.preventDefault(); });
    fileSelect.addEventListener("change", function () { openForm(fileSelect.value); });
    schemaBox.addEventListener("input", function () {
      if (editor.dataset.form) { studio.forms[editor.dataset.form] = schemaBox.value; }
    });
    $("form-create").addEventListener("click", function () {
      var input = $("form-new-name");
      var name = input.value.trim();
      if (name && !/\.json$/.test(name)) { name += ".json"; }
      if (!FORM_NAME.test(name)) { input.setCustomValidity(editor.dataset.msgNewName); input.reportValidity(); return; }
      input.setCustomValidity("");
      if (!studio.forms.hasOwnProperty(name)) { addForm(name, ""); }
      input.value = "";
      openForm(name);
      if (current && (is(current.businessObject, "bpmn:UserTask") || is(current.businessObject, "bpmn:ManualTask"))) {
        fillForms(properties(current.businessObject).formJsonSchemaFilename || "");
      }
    });

    $("field-add").addEventListener("click", function () {
      fieldMessage.textContent = "";
      var schema;
      try { schema = JSON.parse(schemaBox.value); } catch (error) { schema = null; }
      if (!schema || typeof schema !== "object" || Array.isArray(schema)) { fieldMessage.textContent = editor.dataset.msgBadJson; return; }
      var name = $("field-name").value.trim();
      if (!FIELD_NAME.test(name)) { fieldMessage.textContent = editor.dataset.msgBadField; return; }
      var title = $("field-title").value.trim();
      var kind = $("field-type").value;
      var codes = [], labels = {};
      $("field-choices").value.split("\n").forEach(function (line) {
        line = line.trim();
        if (!line) { return; }
        var parts = line.split(/\s+/);
        var code = parts.shift();
        codes.push(code);
        labels[code] = parts.join(" ") || code;
      });
      var prop = { type: "string" };
      if (kind === "textarea") { prop.maxLength = 2000; }
      if (kind === "integer" || kind === "number" || kind === "boolean") { prop.type = kind; }
      if (kind === "date") { prop.format = "date"; }
      if (kind === "choice") { prop.enum = codes; prop["x-enum-labels"] = labels; }
      if (kind === "choices") {
        prop = { type: "array", uniqueItems: true, items: { type: "string", "enum": codes, "x-enum-labels": labels } };
      }
      if (title) { prop = Object.assign({ title: title }, prop); }
      schema.type = schema.type || "object";
      schema.properties = schema.properties || {};
      schema.properties[name] = prop;
      var required = (schema.required || []).filter(function (n) { return n !== name; });
      if ($("field-required").checked) { required.push(name); }
      schema.required = required;
      schemaBox.value = JSON.stringify(schema, null, 2);
      if (editor.dataset.form) { studio.forms[editor.dataset.form] = schemaBox.value; }
      ["field-name", "field-title", "field-choices"].forEach(function (id) { $(id).value = ""; });
      $("field-required").checked = false;
      refreshPreview();
    });

    fillFiles();
    if (fileSelect.value) { openForm(fileSelect.value); window.scrollTo(0, 0); }
    show(null);
    panel.dataset.ready = "true";
  });
})();
