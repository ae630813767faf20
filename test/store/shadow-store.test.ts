import { MemoryShadowStore } from '../../src/memory.js';
import { shadowStoreContract } from '../../src/testing/index.js';

shadowStoreContract(() => new MemoryShadowStore(), { name: 'MemoryShadowStore passes the ShadowStore contract' });
