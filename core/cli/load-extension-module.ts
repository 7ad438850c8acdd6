import { pathToFileURL } from 'node:url';

/** Loads an extension's cli module: every such load goes through here. */
export async function loadExtensionModule(file: string): Promise<unknown> {
  return import(pathToFileURL(file).href);
}
