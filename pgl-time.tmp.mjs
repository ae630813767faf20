import { PGlite } from '@electric-sql/pglite';
let t=Date.now(); const db=new PGlite(); await db.waitReady; console.log('ready', Date.now()-t);
t=Date.now(); const c = await db.clone(); await c.query('select 1'); console.log('clone', Date.now()-t);
