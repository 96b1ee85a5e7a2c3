// Bundled by scripts/refresh_vendor.py with esbuild into server/static/vendor/bpmn-auto-layout/:
// bpmn-auto-layout lays out models that carry no diagram (BPMN DI), such as the shipped
// processes rendered from bpmn/templates, so the case page can draw them.
import { layoutProcess } from 'bpmn-auto-layout';

window.BpmnAutoLayout = { layoutProcess };
