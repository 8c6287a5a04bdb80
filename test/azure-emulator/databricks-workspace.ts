/**
 * The workspace file tree of an emulated Databricks workspace (Workspace API 2.0: import, mkdirs,
 * delete, get-status), where jobs read `spark_python_task.python_file` from when its source is
 * WORKSPACE. Like the service: paths are absolute, an import needs its parent folder to exist and
 * refuses to overwrite unless told, a non-empty folder is deleted only recursively, and the users'
 * home folders and /Shared exist from the start.
 */

export class WorkspaceError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** 10 MB: the documented limit of an import's content. */
const IMPORT_LIMIT = 10 * 1024 * 1024;

type Node = { kind: "DIRECTORY" } | { kind: "FILE"; content: Buffer };

export class WorkspaceTree {
  private readonly nodes = new Map<string, Node>([["/", { kind: "DIRECTORY" }]]);

  constructor(userName: string) {
    for (const p of ["/Users", `/Users/${userName}`, "/Shared"]) this.nodes.set(p, { kind: "DIRECTORY" });
  }

  /** A workspace path as the service reads it: absolute, without a trailing slash, /Workspace prefix dropped. */
  static normalize(raw: unknown): string {
    const p = String(raw ?? "");
    if (!p.startsWith("/")) throw new WorkspaceError(400, "INVALID_PARAMETER_VALUE", `Path (${p}) doesn't start with '/'`);
    const clean = p.replace(/\/+$/, "").replace(/^\/Workspace(?=\/)/, "");
    return clean || "/";
  }

  private parent(p: string): string {
    return p.slice(0, p.lastIndexOf("/")) || "/";
  }

  mkdirs(raw: unknown): void {
    const p = WorkspaceTree.normalize(raw);
    const parts = p.split("/").filter(Boolean);
    let cur = "";
    for (const part of parts) {
      cur += `/${part}`;
      const n = this.nodes.get(cur);
      if (n?.kind === "FILE") throw new WorkspaceError(400, "RESOURCE_ALREADY_EXISTS", `Path (${cur}) already exists as a file.`);
      if (!n) this.nodes.set(cur, { kind: "DIRECTORY" });
    }
  }

  import(body: { path?: unknown; content?: unknown; format?: unknown; overwrite?: unknown }): void {
    const p = WorkspaceTree.normalize(body.path);
    const format = String(body.format ?? "SOURCE");
    if (format !== "AUTO" && format !== "RAW") {
      throw new WorkspaceError(400, "INVALID_PARAMETER_VALUE", `The emulator imports files (format AUTO or RAW), not notebooks in format ${format}.`);
    }
    const content = Buffer.from(String(body.content ?? ""), "base64");
    if (content.length > IMPORT_LIMIT) throw new WorkspaceError(400, "MAX_NOTEBOOK_SIZE_EXCEEDED", "File size imported is too large (limit 10 MB).");
    if (this.nodes.get(this.parent(p))?.kind !== "DIRECTORY") {
      throw new WorkspaceError(404, "RESOURCE_DOES_NOT_EXIST", `The parent folder (${this.parent(p)}) does not exist.`);
    }
    const existing = this.nodes.get(p);
    if (existing?.kind === "DIRECTORY") throw new WorkspaceError(400, "RESOURCE_ALREADY_EXISTS", `Path (${p}) already exists as a directory.`);
    if (existing && body.overwrite !== true) throw new WorkspaceError(400, "RESOURCE_ALREADY_EXISTS", `Path (${p}) already exists.`);
    this.nodes.set(p, { kind: "FILE", content });
  }

  delete(body: { path?: unknown; recursive?: unknown }): void {
    const p = WorkspaceTree.normalize(body.path);
    if (!this.nodes.has(p)) throw new WorkspaceError(404, "RESOURCE_DOES_NOT_EXIST", `Path (${p}) doesn't exist.`);
    const under = [...this.nodes.keys()].filter((k) => k.startsWith(`${p}/`));
    if (under.length && body.recursive !== true) throw new WorkspaceError(400, "DIRECTORY_NOT_EMPTY", `Folder (${p}) is not empty.`);
    for (const k of [p, ...under]) this.nodes.delete(k);
  }

  /** The bytes of a file, or undefined when there is none at that path. */
  read(raw: string): Buffer | undefined {
    const n = this.nodes.get(WorkspaceTree.normalize(raw));
    return n?.kind === "FILE" ? n.content : undefined;
  }

  has(raw: string): boolean {
    return this.nodes.has(WorkspaceTree.normalize(raw));
  }
}
