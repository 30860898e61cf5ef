// The Deckhouse virtualization API group as this provider addresses it.
import type { ApiKind } from "../kube/objects";

const ENABLE =
  'enable the Deckhouse "virtualization" module (or point kubeconfig/context at a cluster that has it)';

export const deckhouseKind = (kind: string, plural: string): ApiKind => ({
  group: "virtualization.deckhouse.io",
  version: "v1alpha2",
  kind,
  plural,
  enableHint: ENABLE,
});
