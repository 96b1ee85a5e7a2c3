/* The case diagram: bpmn-js's viewer draws the case's model version; the elements the case
   waits at and the path it took are marked. Served locally like everything else. */
(function () {
  "use strict";
  var BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";

  // The layout follows each element's <incoming>/<outgoing> references; models may give a flow
  // only its sourceRef/targetRef (both are valid BPMN), so the references are added first.
  function withFlowRefs(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    var byId = {};
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN, "*"), function (el) {
      if (el.getAttribute("id")) { byId[el.getAttribute("id")] = el; }
    });
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN, "sequenceFlow"), function (flow) {
      var id = flow.getAttribute("id");
      [["sourceRef", "outgoing"], ["targetRef", "incoming"]].forEach(function (pair) {
        var node = byId[flow.getAttribute(pair[0])];
        if (!node) { return; }
        var known = Array.prototype.some.call(node.getElementsByTagNameNS(BPMN, pair[1]), function (ref) {
          return ref.parentNode === node && ref.textContent.trim() === id;
        });
        if (known) { return; }
        var ref = doc.createElementNS(BPMN, node.prefix ? node.prefix + ":" + pair[1] : pair[1]);
        ref.textContent = id;
        // incoming/outgoing come right after extensionElements (the schema's order)
        var after = null;
        Array.prototype.forEach.call(node.childNodes, function (child) {
          if (child.nodeType === 1 && /^(documentation|extensionElements|incoming|outgoing)$/.test(child.localName)) { after = child; }
        });
        node.insertBefore(ref, after ? after.nextSibling : node.firstChild);
      });
    });
    return new XMLSerializer().serializeToString(doc);
  }

  // the studio's modeler lays shipped models out the same way
  window.RedwallDiagram = { withFlowRefs: withFlowRefs };

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("diagram");
    if (!box || !window.BpmnJS) { return; }
    var viewer = new window.BpmnJS({ container: box });
    fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (found) {
        // Models written without a diagram (the shipped processes are rendered from a template)
        // are laid out first by bpmn-auto-layout.
        if (found.xml.indexOf("BPMNDiagram") >= 0 || !window.BpmnAutoLayout) { return found; }
        return window.BpmnAutoLayout.layoutProcess(withFlowRefs(found.xml)).then(function (xml) { found.xml = xml; return found; });
      })
      .then(function (found) {
        return viewer.importXML(found.xml).then(function () { return found; });
      })
      .then(function (found) {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var done = {};
        (found.completed || []).forEach(function (id) { done[id] = true; if (registry.get(id)) { canvas.addMarker(id, "done"); } });
        (found.current || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "current"); } });
        // the studio's version compare: elements added or changed since the other version
        ["added", "changed"].forEach(function (mark) {
          (box.dataset[mark] || "").split(" ").forEach(function (id) {
            if (id && registry.get(id)) { canvas.addMarker(id, mark); }
          });
        });
        // a flow is on the path taken when both its ends were passed (or it leads to where the case waits)
        registry.filter(function (el) { return el.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
          var source = flow.businessObject.sourceRef && flow.businessObject.sourceRef.id;
          var target = flow.businessObject.targetRef && flow.businessObject.targetRef.id;
          if (done[source] && (done[target] || found.current.indexOf(target) >= 0)) { canvas.addMarker(flow.id, "done"); }
        });
        canvas.zoom("fit-viewport");
        box.dataset.ready = "true";
      })
      .catch(function (error) {
        if (window.console) { window.console.error("diagram:", error); }
        box.textContent = box.dataset.error || "The diagram could not be drawn.";
        box.dataset.ready = "error";
      });
  });
})();
