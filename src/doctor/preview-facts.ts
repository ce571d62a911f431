// What the audit knows of previews: every preview container on the Docker host (labelled
// `lugh.preview=<namespace>`, `lugh.preview.pr=<n>`), as the engine describes it, and the
// names it must carry (previews/preview.ts).
import type Docker from 'dockerode';
import type { AppEnv } from '../config/environments.js';
import { findContainer } from '../deployer/docker-helpers.js';
import { describeDockerError } from '../deployer/errors.js';
import { type PreviewNames, previewLabel, previewNames } from '../previews/preview.js';
import { type Settings, settingsOf } from './facts.js';

/** One preview container and the names its pull request gives it. */
export interface PreviewContainerFacts {
  readonly name: string;
  /** Its `lugh.preview.pr` label; undefined when the label is not a pull request number. */
  readonly pr?: number;
  readonly names?: PreviewNames;
  readonly container: Docker.ContainerInspectInfo;
  readonly settings: Settings;
}

/** The preview containers of one namespace, or why they could not be listed. */
export interface PreviewsFacts {
  /** The label value they carry: the namespace, `lugh` for a real lugh's. */
  readonly label: string;
  readonly containers?: readonly PreviewContainerFacts[];
  readonly missing?: string;
  /**
   * Secrets the audit knows besides the app containers' environments: the env files'
   * (`lugh doctor`, production's .env.prod.local too) or this instance's (/doctor).
   */
  readonly knownSecrets?: readonly KnownSecret[];
}

/** A secret value and whose setting it is; the value is compared, never shown. */
export interface KnownSecret {
  readonly env: AppEnv;
  readonly variable: string;
  readonly value: string;
}

const PREVIEW_LABEL = 'lugh.preview';
const PR_LABEL = 'lugh.preview.pr';

/** Every preview container of `namespace` ('' for a real lugh's), running or not, inspected. */
export async function gatherPreviews(docker: Docker | undefined, namespace = ''): Promise<PreviewsFacts> {
  const label = previewLabel(namespace);
  if (!docker) return { label, missing: 'this process has no Docker engine to ask' };
  try {
    const listed = await docker.listContainers({
      all: true,
      filters: { label: [`${PREVIEW_LABEL}=${label}`] },
    });
    const found = await Promise.all(listed.map((c) => findContainer(docker, c.Id)));
    const containers = found
      .filter((info): info is Docker.ContainerInspectInfo => info !== undefined)
      .map((info): PreviewContainerFacts => {
        const raw = info.Config.Labels?.[PR_LABEL] ?? '';
        const pr = /^[1-9]\d*$/.test(raw) ? Number(raw) : undefined;
        return {
          name: info.Name.replace(/^\//, ''),
          pr,
          names: pr === undefined ? undefined : previewNames(pr, namespace),
          container: info,
          settings: settingsOf(info),
        };
      })
      .sort((a, b) => (a.pr ?? 0) - (b.pr ?? 0) || a.name.localeCompare(b.name));
    return { label, containers };
  } catch (error) {
    return { label, missing: describeDockerError(error) };
  }
}
