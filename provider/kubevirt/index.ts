// KubeVirt (snapshot.kubevirt.io) resources.
export {};
