package io.troupe.protocol.serialization;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.Pool;
import java.io.NotSerializableException;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * A Pekko serializer for {@link KryoPayload}s with Kryo 5. Kryo instances are not thread-safe,
 * so they come from a pool. Only classes implementing {@link KryoPayload} are accepted in
 * either direction: a peer cannot make this JVM instantiate arbitrary classes.
 */
public final class KryoSerializer extends SerializerWithStringManifest {
    /** Pekko serializer id; must be unique in the actor system. */
    public static final int IDENTIFIER = 74_302;

    private final Pool<Kryo> pool = new Pool<>(true, false, 8) {
        @Override
        protected Kryo create() {
            Kryo kryo = new Kryo();
            // Classes are named in the manifest and checked there; nested types are arrays,
            // strings and primitives written without registration.
            kryo.setRegistrationRequired(false);
            return kryo;
        }
    };

    @Override
    public int identifier() {
        return IDENTIFIER;
    }

    @Override
    public String manifest(Object o) {
        return payloadClass(o).getName();
    }

    @Override
    public byte[] toBinary(Object o) {
        payloadClass(o);
        Kryo kryo = pool.obtain();
        try (Output out = new Output(4096, -1)) {
            kryo.writeObject(out, o);
            return out.toBytes();
        } finally {
            pool.free(kryo);
        }
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
        Class<?> type;
        try {
            type = Class.forName(manifest, false, KryoSerializer.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new NotSerializableException("unknown payload type '" + manifest + "': the peer runs another Troupe version");
        }
        if (!KryoPayload.class.isAssignableFrom(type)) {
            throw new NotSerializableException("refusing to deserialize " + manifest + ": it is not a KryoPayload");
        }
        Kryo kryo = pool.obtain();
        try (Input in = new Input(bytes)) {
            return kryo.readObject(in, type);
        } catch (KryoException e) {
            throw new NotSerializableException("malformed " + manifest + " payload: " + e.getMessage());
        } finally {
            pool.free(kryo);
        }
    }

    private static Class<?> payloadClass(Object o) {
        if (!(o instanceof KryoPayload)) {
            throw new IllegalArgumentException("KryoSerializer only serializes KryoPayload, not " + o.getClass().getName());
        }
        return o.getClass();
    }
}
