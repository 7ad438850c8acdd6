import { importExtensionModule } from '../extension-host/module-import.ts';

/** Loads an extension's cli module (TypeScript support is registered only when it is `.ts`). */
export function loadExtensionModule(file: string): Promise<unknown> {
  return importExtensionModule(file);
}
