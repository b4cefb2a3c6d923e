// Photos as evidence: the tablet's camera input, the photos kept on the tablet until they
// are uploaded (IndexedDB: a phone photo is too big for localStorage), the upload itself
// (multipart, with the outbox item's idempotency key), and thumbnails read with the
// page's token.

import { addWords, t } from "./i18n.js";
import { h } from "./dom.js";
import { clock } from "./timefmt.js";

export const PHOTO_KINDS = ["before", "after", "odometer", "vin_plate", "part", "other"];

addWords({
  zh: {
    "photo.title": "照片", "photo.kind": "拍摄内容", "photo.part_no": "零件号", "photo.take": "拍照 / 选择照片",
    "photo.kind.before": "维修前", "photo.kind.after": "维修后", "photo.kind.odometer": "里程表",
    "photo.kind.vin_plate": "VIN 铭牌", "photo.kind.part": "更换的配件", "photo.kind.other": "其他",
    "photo.pending": "待上传", "photo.none": "暂无照片", "photo.part_needed": "请填写配件的零件号",
    "photo.missing_parts": "索赔需要以下更换配件的照片：{parts}", "photo.evidence": "照片证据",
    "photo.sha256": "SHA-256", "photo.taken_at": "照片时间",
  },
  en: {
    "photo.title": "Photos", "photo.kind": "What it shows", "photo.part_no": "Part no.", "photo.take": "Take / choose a photo",
    "photo.kind.before": "Before the repair", "photo.kind.after": "After the repair", "photo.kind.odometer": "Odometer",
    "photo.kind.vin_plate": "VIN plate", "photo.kind.part": "Replaced part", "photo.kind.other": "Other",
    "photo.pending": "waiting to upload", "photo.none": "No photos yet", "photo.part_needed": "Give the part number",
    "photo.missing_parts": "The claim needs a photo of these replaced parts: {parts}", "photo.evidence": "Photo evidence",
    "photo.sha256": "SHA-256", "photo.taken_at": "taken",
  },
});

// -- blobs kept on the tablet ----------------------------------------------------------------

export class PhotoBlobs {
  constructor(name = "rescue-photos") {
    this.name = name;
    this.db = null;
  }

  open() {
    if (this.db) return this.db;
    this.db = new Promise((resolve, reject) => {
      const request = indexedDB.open(this.name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore("blobs");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return this.db;
  }

  async run(mode, work) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("blobs", mode);
      const request = work(tx.objectStore("blobs"));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
    });
  }

  put(key, blob) {
    return this.run("readwrite", (store) => store.put(blob, key));
  }

  get(key) {
    return this.run("readonly", (store) => store.get(key));
  }

  delete(key) {
    return this.run("readwrite", (store) => store.delete(key));
  }
}

// -- upload and display ---------------------------------------------------------------------------

// Posts the photo as multipart (field `file`); rejects like Api.request (ApiError or TypeError).
export function uploadPhoto(api, item, blob) {
  const form = new FormData();
  form.append("file", blob, item.name || "photo.jpg");
  form.append("kind", item.kind);
  if (item.part_no) form.append("part_no", item.part_no);
  return api.post(`/api/incidents/${encodeURIComponent(item.incident_id)}/photos`, form, { key: item.key });
}

const thumbnails = new Map(); // photo path -> object URL, fetched once with the token

export function thumbnail(api, path, alt) {
  const img = h("img", { class: "photo-thumb", alt, loading: "lazy" });
  const known = thumbnails.get(path);
  if (known) {
    img.src = known;
  } else {
    fetch(path, { headers: { Authorization: `Bearer ${api.token}` }, cache: "force-cache" })
      .then((response) => (response.ok ? response.blob() : Promise.reject(new Error(String(response.status)))))
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        thumbnails.set(path, url);
        img.src = url;
      })
      .catch(() => img.classList.add("photo-broken"));
  }
  return img;
}

export function photoLabel(photo) {
  return `${t(`photo.kind.${photo.kind}`)}${photo.part_no ? ` ${photo.part_no}` : ""}`;
}

// One photo as a list item: its thumbnail, what it shows, when, and its hash.
export function photoItem(api, incidentId, photo) {
  const path = `/api/incidents/${encodeURIComponent(incidentId)}/photos/${photo.photo_id}`;
  return h("li", { class: "photo", dataset: { photoId: photo.photo_id, kind: photo.kind, sha256: photo.sha256 } },
    thumbnail(api, path, photoLabel(photo)),
    h("span", {}, photoLabel(photo)), " ",
    h("time", {}, clock(photo.at)), " ",
    h("code", { class: "photo-hash", title: photo.sha256 }, photo.sha256.slice(0, 12)));
}
