"""Node-local NVMe and bucket sizing shared by every cloud rendering."""
from __future__ import annotations

import math

from components.catalog import InstanceType
from components.catalog.vocab import GCP

#: Local NVMe path every node exposes to the serving layer (EKS nodeadm RAID0 mounts instance store
#: under /mnt/k8s-disks; VM mode and GKE raw-block pools mount their RAID0 array at the same path).
NVME_MOUNT = "/mnt/k8s-disks"
#: Space kept beside one model copy for a canary revision and partial downloads.
CACHE_HEADROOM = 2.2
GCP_LOCAL_SSD_GB = 375


def local_ssd_count(instance: InstanceType, weights_gib: float) -> int:
    """Local SSDs a GCP node gets: the bundled count, else enough 375 GB disks for the weight cache.

    Optional local SSD counts must be one the machine type accepts; the catalog's ``local_nvme_disks``
    holds the most it takes, and the count is capped there.
    """
    if instance.local_nvme_mode in ("bundled", "instance-store"):
        return instance.local_nvme_disks
    if instance.local_nvme_mode == "none":
        return 0
    need_gb = weights_gib * 1.073741824 * CACHE_HEADROOM
    return max(1, min(instance.local_nvme_disks, math.ceil(need_gb / GCP_LOCAL_SSD_GB)))


def billed_local_ssd(instance: InstanceType) -> bool:
    """True when local SSDs are billed on top of the machine price (GCP optional SSDs)."""
    return instance.cloud == GCP and instance.local_nvme_mode == "optional"
